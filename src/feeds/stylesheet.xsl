<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by crier: shows its RSS and Atom feeds as a page when a browser opens them.
     XSLT 1.0 only, no script, nothing loaded from elsewhere. Language: {{ s.code }}. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/rss">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="string(channel/title)"/>
      <xsl:with-param name="description" select="string(channel/description)"/>
      <xsl:with-param name="home" select="string(channel/link)"/>
      <xsl:with-param name="self" select="string(channel/atom:link[@rel='self']/@href)"/>
      <xsl:with-param name="file" select="'rss.xml'"/>
      <xsl:with-param name="items" select="channel/item"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="string(atom:title)"/>
      <xsl:with-param name="description" select="string(atom:subtitle)"/>
      <xsl:with-param name="home" select="string(atom:link[@rel='alternate' or not(@rel)][1]/@href)"/>
      <xsl:with-param name="self" select="string(atom:link[@rel='self']/@href)"/>
      <xsl:with-param name="file" select="'atom.xml'"/>
      <xsl:with-param name="items" select="atom:entry"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="description"/>
    <xsl:param name="home"/>
    <xsl:param name="self"/>
    <xsl:param name="file"/>
    <xsl:param name="items"/>
    <html lang="{{ s.code }}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> · {{ s.label }}</title>
        <style>
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fcfcfa; --muted: #59636e; --accent: #0a58b0; --box: #eef3f8; --line: #d1d9e0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #16181b; --muted: #a1a9b3; --accent: #7cb7ff; --box: #1f252d; --line: #38404a; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 42rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
a { color: var(--accent); }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0.5rem 0; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.75rem; }
h3 { font-size: 1.125rem; line-height: 1.35; margin: 0 0 0.25rem; }
.label { display: inline-block; margin: 0; padding: 0.1rem 0.6rem; border-radius: 1rem; background: var(--accent); color: var(--bg); font-size: 0.8125rem; font-weight: 600; letter-spacing: 0.03em; }
.description { font-size: 1.125rem; }
.subscribe { background: var(--box); border: 1px solid var(--line); border-radius: 0.75rem; padding: 0.25rem 1.25rem 0.75rem; margin-top: 1.5rem; }
.subscribe h2 { margin-top: 1rem; }
.address-label { margin-bottom: 0.25rem; font-weight: 600; }
code { display: block; padding: 0.5rem 0.75rem; background: var(--bg); border: 1px solid var(--line); border-radius: 0.375rem; font-size: 0.9375rem; overflow-wrap: anywhere; -webkit-user-select: all; user-select: all; }
.formats a { margin-right: 0.5rem; }
.formats a[aria-current] { font-weight: 600; text-decoration: none; color: var(--fg); }
article { padding: 1rem 0; border-top: 1px solid var(--line); }
article p { margin: 0.25rem 0; }
.date, .muted { color: var(--muted); font-size: 0.9375rem; }
        </style>
      </head>
      <body>
        <main>
          <header>
            <p class="label">{{ s.label }}</p>
            <h1><xsl:value-of select="$title"/></h1>
            <xsl:if test="normalize-space($description) != '' and $description != $title">
              <p class="description"><xsl:value-of select="$description"/></p>
            </xsl:if>
            <xsl:if test="$home != ''">
              <p><a href="{$home}">{{ s.visit_site }}</a></p>
            </xsl:if>
          </header>
          <section class="subscribe" aria-labelledby="subscribe">
            <h2 id="subscribe">{{ s.subscribe_heading }}</h2>
            <p>{{ s.about }}</p>
            <p>{{ s.subscribe_text }}</p>
            <p class="address-label">{{ s.address_label }}</p>
            <code class="address"><xsl:value-of select="$self"/></code>
            <!-- The other formats are beside this file: relative links work on any host. -->
            <p class="formats">{{ s.formats_label }}
{%- for format in formats %}
              <xsl:text> </xsl:text><a href="{{ format.file }}" type="{{ format.media_type }}"><xsl:if test="$file = '{{ format.file }}'"><xsl:attribute name="aria-current">page</xsl:attribute></xsl:if>{{ format.label }}</a>
{%- endfor %}
            </p>
          </section>
          <section aria-labelledby="latest">
            <h2 id="latest">{{ s.latest_heading }}</h2>
            <xsl:choose>
              <xsl:when test="$items">
                <xsl:apply-templates select="$items"/>
              </xsl:when>
              <xsl:otherwise>
                <p class="muted">{{ s.no_entries }}</p>
              </xsl:otherwise>
            </xsl:choose>
          </section>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <article>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <xsl:if test="pubDate">
        <p class="date">{{ s.published }}<xsl:call-template name="rfc822">
          <xsl:with-param name="text" select="normalize-space(pubDate)"/>
        </xsl:call-template></p>
      </xsl:if>
      <xsl:if test="normalize-space(description) != ''">
        <!-- crier writes the plain summary escaped as HTML: undo that, and show it as text. -->
        <p><xsl:call-template name="unescape">
          <xsl:with-param name="text" select="string(description)"/>
        </xsl:call-template></p>
      </xsl:if>
    </article>
  </xsl:template>

  <xsl:template match="atom:entry">
    <xsl:variable name="when">
      <xsl:choose>
        <xsl:when test="atom:published"><xsl:value-of select="atom:published"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="atom:updated"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <article>
      <h3><a href="{atom:link[@rel='alternate' or not(@rel)][1]/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <xsl:if test="string-length($when) &gt;= 10">
        <p class="date">{{ s.published }}<xsl:call-template name="date">
          <xsl:with-param name="y" select="substring($when, 1, 4)"/>
          <xsl:with-param name="m" select="number(substring($when, 6, 2))"/>
          <xsl:with-param name="d" select="number(substring($when, 9, 2))"/>
        </xsl:call-template></p>
      </xsl:if>
      <xsl:if test="normalize-space(atom:summary) != ''">
        <p><xsl:value-of select="atom:summary"/></p>
      </xsl:if>
    </article>
  </xsl:template>

  <!-- An RFC 822 date as RSS has it ("Tue, 05 Mar 2024 09:00:00 +0100"), the weekday optional. -->
  <xsl:template name="rfc822">
    <xsl:param name="text"/>
    <xsl:variable name="rest">
      <xsl:choose>
        <xsl:when test="contains($text, ',')"><xsl:value-of select="normalize-space(substring-after($text, ','))"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="day" select="substring-before($rest, ' ')"/>
    <xsl:variable name="after-day" select="substring-after($rest, ' ')"/>
    <xsl:variable name="month" select="substring-before($after-day, ' ')"/>
    <xsl:variable name="year" select="substring-before(concat(substring-after($after-day, ' '), ' '), ' ')"/>
    <xsl:variable name="months" select="'JanFebMarAprMayJunJulAugSepOctNovDec'"/>
    <xsl:choose>
      <xsl:when test="string-length($month) = 3 and contains($months, $month) and number($day) = number($day) and string-length($year) = 4">
        <xsl:call-template name="date">
          <xsl:with-param name="y" select="$year"/>
          <xsl:with-param name="m" select="string-length(substring-before($months, $month)) div 3 + 1"/>
          <xsl:with-param name="d" select="number($day)"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- A date in this language's words, with its machine-readable form. -->
  <xsl:template name="date">
    <xsl:param name="y"/>
    <xsl:param name="m"/>
    <xsl:param name="d"/>
    <time datetime="{concat($y, '-', format-number($m, '00'), '-', format-number($d, '00'))}">
{%- for part in date_parts -%}
{%- if part == "{d}" %}<xsl:value-of select="$d"/>
{%- elif part == "{m}" %}<xsl:call-template name="month"><xsl:with-param name="m" select="$m"/></xsl:call-template>
{%- elif part == "{y}" %}<xsl:value-of select="$y"/>
{%- else %}<xsl:text>{{ part }}</xsl:text>
{%- endif -%}
{%- endfor -%}
    </time>
  </xsl:template>

  <xsl:template name="month">
    <xsl:param name="m"/>
    <xsl:choose>
{%- for name in s.months %}
      <xsl:when test="$m = {{ loop.index }}">{{ name }}</xsl:when>
{%- endfor %}
    </xsl:choose>
  </xsl:template>

  <!-- Undoes the escaping of &, < and > (`&amp;` last, so that `&amp;lt;` stays `&lt;`). -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text" select="$text"/>
              <xsl:with-param name="from" select="'&amp;lt;'"/>
              <xsl:with-param name="to" select="'&lt;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;gt;'"/>
          <xsl:with-param name="to" select="'&gt;'"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="substring-before($text, $from)"/>
        <xsl:value-of select="$to"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
