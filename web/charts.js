// Published against realized odds as a picture: for each tier of a slot, the published probability (outlined bar),
// the share actually drawn (filled bar) and its 95% interval (a whisker). Pure: numbers in, SVG markup out; only
// SVG attributes and classes (the page's Content-Security-Policy allows no inline style).

const ROW = 34
const LABEL = 92
const WIDTH = 460

function escapeXml (value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function percent (share) {
  return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`
}

// tiers: [{tier_id, published, observed, observed_share, interval_95}] as GET /api/v1/packs/{id}/stats answers
export function oddsChart (tiers, title) {
  const scaleMax = Math.max(0.05, ...tiers.map((t) => Math.max(Number(t.published),
    t.interval_95 ? Number(t.interval_95[1]) : 0))) * 1.08
  const x = (share) => LABEL + (WIDTH - LABEL - 118) * share / scaleMax
  const rows = tiers.map((tier, index) => {
    const top = 8 + index * ROW
    const published = Number(tier.published)
    const share = tier.observed_share === null ? null : Number(tier.observed_share)
    const [low, high] = tier.interval_95 ? tier.interval_95.map((v) => x(Number(v)).toFixed(1)) : []
    const whisker = tier.interval_95
      ? `<path class="ci" d="M${low} ${top + 19}H${high}M${low} ${top + 15}V${top + 23}M${high} ${top + 15}V${top + 23}"/>`
      : ''
    return `<g class="tier-row" data-tier="${escapeXml(tier.tier_id)}" data-published="${escapeXml(tier.published)}" data-observed="${tier.observed}" data-share="${share === null ? '' : escapeXml(tier.observed_share)}">
      <text x="0" y="${top + 17}" class="label">${escapeXml(tier.tier_id)}</text>
      <rect class="published" x="${LABEL}" y="${top + 2}" height="10" width="${(x(published) - LABEL).toFixed(1)}"/>
      ${share === null ? '' : `<rect class="realized" x="${LABEL}" y="${top + 14}" height="10" width="${(x(share) - LABEL).toFixed(1)}"/>`}
      ${whisker}
      <text x="${WIDTH - 2}" y="${top + 17}" text-anchor="end" class="value">${percent(published)} → ${share === null ? '—' : percent(share)}</text>
    </g>`
  }).join('')
  const height = 12 + tiers.length * ROW
  return `<svg class="odds-chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}">
    <title>${escapeXml(title)}</title>${rows}</svg>`
}
