#!/usr/bin/env ruby
# frozen_string_literal: true

# Counts texts as Mastodon's StatusLengthValidator counts them once its URLs are replaced by
# 23 characters (app/validators/status_length_validator.rb: `countable_length(str)` is
# `str.each_grapheme_cluster.size`), with this Ruby's own grapheme cluster rules, for
# tests/mastodon_count.rs. The caller has already put the 23-character placeholders in.
#
#     ruby tests/tools/mastodon_count.rb < texts.jsonl
#
# Reads one JSON string per line on stdin and prints, per line, one JSON object
# {"length": <grapheme clusters>}. The first line of stderr names Ruby's Unicode version.
# Exit status: 0 when every line was counted, 2 on a line that is not a JSON string.

require 'json'

warn "ruby #{RUBY_VERSION}, Unicode #{RbConfig::CONFIG['UNICODE_VERSION']}"
$stdin.each_line.with_index(1) do |line, number|
  text = begin
    JSON.parse(line)
  rescue JSON::ParserError => e
    warn "line #{number}: not JSON: #{e.message}"
    exit 2
  end
  unless text.is_a?(String)
    warn "line #{number}: not a JSON string"
    exit 2
  end
  $stdout.puts JSON.generate({ length: text.each_grapheme_cluster.size })
end
