//! The engine: what one job does. A [`job`] is one [`cycle`] (read every source, record what
//! is new, changed or removed in the store with the deliveries it queues, publish the feeds)
//! followed by a [`deliver`]y round over the channels, beside which [`websub`] tells the hubs
//! of the feeds that changed. [`preview`] shows the posts waiting and
//! planned, as they will go out, without sending anything.

pub mod cycle;
pub mod deliver;
pub mod job;
pub mod preview;
pub mod websub;
