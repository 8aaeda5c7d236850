//! When the daemon works (`[daemon]`): the cron schedule read in its time zone, the jitter,
//! file watching and the health listener's settings, parsed once with the config; and
//! [`Ticks`], which turns the schedule into instants.
//!
//! Cron expressions are read with `croner`, which handles 5- and 6-field expressions and
//! daylight saving (a tick in a skipped hour runs once at the jump, a repeated hour runs once).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Settings of the daemon (`crier run` without `--once`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Cron expression of the cycles: 5 fields (minute precision) or 6 (with seconds first).
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    /// IANA time zone the schedule is read in; default `site.timezone`.
    #[serde(default, with = "crate::values::timezone::option")]
    pub timezone: Option<chrono_tz::Tz>,
    /// Random delay added to each tick, so that many sites do not call out at once (`"30s"`).
    #[serde(default, with = "crate::values::duration")]
    pub jitter: Duration,
    /// Watch directory sources: a saved, added or removed entry file runs a cycle at once.
    #[serde(default)]
    pub watch: bool,
    /// The health and metrics listener; off when absent.
    pub health: Option<HealthListenConfig>,
}

/// The optional HTTP listener for `/healthz`, `/metrics` and (optionally) the feeds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthListenConfig {
    /// Address and port; keep it on 127.0.0.1 unless a proxy or a scraper needs more.
    #[serde(default = "default_listen", deserialize_with = "socket_address")]
    pub listen: SocketAddr,
    /// `/healthz` answers 503 when the last successful cycle (every source read, every
    /// document parsed) is older than this.
    #[serde(default = "default_health_max_age", with = "crate::values::duration")]
    pub max_age: Duration,
    /// `/healthz` answers 503, naming the source, when a source has failed every read for
    /// longer than this.
    #[serde(
        default = "default_health_source_max_age",
        with = "crate::values::duration"
    )]
    pub source_max_age: Duration,
    /// Also serve the feeds folder under `/feeds/`, with ETag and Last-Modified.
    #[serde(default)]
    pub serve_feeds: bool,
    /// Also serve the preview page of the posts waiting (`crier preview`) at `/preview`. Off by
    /// default: it shows posts that are not published yet.
    #[serde(default)]
    pub preview: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            schedule: default_schedule(),
            timezone: None,
            jitter: Duration::ZERO,
            watch: false,
            health: None,
        }
    }
}

fn default_schedule() -> Schedule {
    Schedule::parse("*/5 * * * *").expect("the default schedule parses")
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}
fn default_health_max_age() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_health_source_max_age() -> Duration {
    Duration::from_secs(6 * 3600)
}

fn socket_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an address such as \"127.0.0.1:9464\""
        ))
    })
}

/// A cron expression, parsed, with its text for messages.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    cron: Cron,
}

impl Schedule {
    /// Parses a cron expression of 5 fields (minutes) or 6 (seconds first).
    pub fn parse(expression: &str) -> Result<Schedule, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expression)
            .map_err(|e| {
                format!(
                    "{expression:?} is not a cron expression ({e}); write 5 fields such as \"*/5 * * * *\" or 6 with seconds first"
                )
            })?;
        Ok(Schedule {
            text: expression.to_owned(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The ticks of a schedule in its time zone.
#[derive(Debug, Clone)]
pub struct Ticks {
    cron: Cron,
    timezone: chrono_tz::Tz,
    jitter: Duration,
}

impl Ticks {
    /// The daemon's ticks; `site_timezone` applies when `[daemon] timezone` is not set.
    pub fn new(daemon: &DaemonConfig, site_timezone: chrono_tz::Tz) -> Ticks {
        Ticks {
            cron: daemon.schedule.cron.clone(),
            timezone: daemon.timezone.unwrap_or(site_timezone),
            jitter: daemon.jitter,
        }
    }

    /// The first tick strictly after `after`, jitter not included.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// A random delay in `0..jitter` for one tick.
    pub fn jitter(&self) -> chrono::Duration {
        if self.jitter.is_zero() {
            return chrono::Duration::zero();
        }
        let ms = (self.jitter.as_millis() as f64 * rand::random::<f64>()) as i64;
        chrono::Duration::milliseconds(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ticks(expression: &str, timezone: chrono_tz::Tz) -> Ticks {
        let daemon = DaemonConfig {
            schedule: Schedule::parse(expression).unwrap(),
            ..DaemonConfig::default()
        };
        Ticks::new(&daemon, timezone)
    }

    fn ticks_from(ticks: &Ticks, start: &str, n: usize) -> Vec<String> {
        let mut t = utc(start);
        (0..n)
            .map(|_| {
                t = ticks.next_after(t).unwrap();
                t.with_timezone(&Paris).to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn five_and_six_field_expressions() {
        assert!(Schedule::parse("*/5 * * * *").is_ok());
        assert!(Schedule::parse("*/10 * * * * *").is_ok());
        let err = Schedule::parse("every five minutes").unwrap_err();
        assert!(err.contains("5 fields"), "{err}");
        let every_minute = ticks("* * * * *", chrono_tz::UTC);
        assert_eq!(
            every_minute.next_after(utc("2024-01-01T10:00:30Z")),
            Some(utc("2024-01-01T10:01:00Z"))
        );
        // Strictly after: a time on a tick gives the next one.
        assert_eq!(
            every_minute.next_after(utc("2024-01-01T10:01:00Z")),
            Some(utc("2024-01-01T10:02:00Z"))
        );
        let every_second = ticks("* * * * * *", chrono_tz::UTC);
        assert_eq!(
            every_second.next_after(utc("2024-01-01T10:00:00.500Z")),
            Some(utc("2024-01-01T10:00:01Z"))
        );
    }

    #[test]
    fn daylight_saving_in_paris() {
        // Spring forward, 2024-03-31: 02:00–03:00 does not exist.
        let five = ticks("*/30 * * * *", Paris);
        assert_eq!(
            ticks_from(&five, "2024-03-31T00:15:00Z", 3),
            [
                "2024-03-31T01:30:00+01:00",
                "2024-03-31T03:00:00+02:00",
                "2024-03-31T03:30:00+02:00"
            ]
        );
        // A daily 02:30 job still runs once on that day, not never.
        let daily = ticks("30 2 * * *", Paris);
        let runs = ticks_from(&daily, "2024-03-30T12:00:00Z", 3);
        assert_eq!(runs.len(), 3);
        assert!(runs[0].starts_with("2024-03-31T03:"), "{runs:?}");
        assert!(runs[1].starts_with("2024-04-01T02:30:00+02:00"), "{runs:?}");
        // Fall back, 2024-10-27: 02:30 happens twice; the job runs once.
        let runs = ticks_from(&daily, "2024-10-26T12:00:00Z", 2);
        assert_eq!(runs[0], "2024-10-27T02:30:00+02:00");
        assert_eq!(runs[1], "2024-10-28T02:30:00+01:00");
    }

    #[test]
    fn the_daemon_table_is_typed() {
        let daemon: DaemonConfig = toml::from_str(
            "schedule = \"0 * * * *\"\ntimezone = \"Europe/Paris\"\njitter = \"30s\"\n[health]\nmax_age = \"1h\"",
        )
        .unwrap();
        assert_eq!(daemon.schedule.as_str(), "0 * * * *");
        assert_eq!(daemon.timezone, Some(Paris));
        assert_eq!(daemon.jitter, Duration::from_secs(30));
        let health = daemon.health.unwrap();
        assert_eq!(health.listen, default_listen());
        assert_eq!(health.max_age, Duration::from_secs(3600));
        assert_eq!(health.source_max_age, Duration::from_secs(6 * 3600));
        let health: HealthListenConfig = toml::from_str("source_max_age = \"90m\"").unwrap();
        assert_eq!(health.source_max_age, Duration::from_secs(90 * 60));
        let err = toml::from_str::<DaemonConfig>("[health]\nlisten = \"localhost\"").unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:9464"), "{err}");
    }
}
