// Revenue over time and success rates, per currency, from `paymentStatistics`.

import { barChart, percent } from "./charts.js";
import { dayStart, el, formValues } from "./dom.js";
import { gql } from "./gql.js";

const QUERY = `query Statistics($from: DateTime, $to: DateTime, $bucket: StatisticsBucket!) {
  paymentStatistics(createdFrom: $from, createdTo: $to, bucket: $bucket) {
    currencies {
      currency paymentCount successRate refundRate
      volume { formatted } captured { formatted } refunded { formatted } revenue { formatted }
      byProvider { key succeeded failed successRate }
      series { periodStart revenue { amount formatted } }
    }
  }
}`;

export async function loadStatistics(form, target) {
  const values = formValues(form);
  const data = await gql(QUERY, { from: dayStart(values.from), to: dayStart(values.to, true),
    bucket: values.bucket || "DAY" });
  const currencies = data.paymentStatistics.currencies;
  target.replaceChildren(...(currencies.length ? currencies.map(card) :
    [el("p", { class: "empty" }, "No payments in this period.")]));
}

function card(stats) {
  const revenue = barChart(`Revenue (${stats.currency})`, stats.series.map((b) => ({
    label: b.periodStart.slice(5), value: Number(b.revenue.amount), text: b.revenue.formatted })),
  { className: "revenue" });
  const rates = barChart(`Success rate by provider (${stats.currency})`, stats.byProvider.map((g) => ({
    label: g.key, value: g.successRate === null ? 0 : Number(g.successRate), text: percent(g.successRate) })),
  { max: 1, className: "success-rate" });
  const figure = (name, value) => el("div", { class: "figure" }, el("span", {}, name), el("strong", {}, value));
  return el("article", { class: "card", "data-currency": stats.currency },
    el("h3", {}, stats.currency),
    el("div", { class: "figures" },
      figure("Payments", String(stats.paymentCount)),
      figure("Success rate", percent(stats.successRate)),
      figure("Volume", stats.volume.formatted),
      figure("Captured", stats.captured.formatted),
      figure("Refunded", stats.refunded.formatted),
      figure("Revenue", stats.revenue.formatted),
      figure("Refund rate", percent(stats.refundRate))),
    el("div", { class: "charts" }, revenue, rates));
}
