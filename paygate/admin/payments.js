// The payments table, newest first, filtered by status, provider and dates; "More" pages on.

import { dayStart, el, fillTable, formValues, shortTime } from "./dom.js";
import { gql } from "./gql.js";

const PAGE = 25;
const QUERY = `query Payments($first: Int, $after: String, $filter: PaymentFilterInput) {
  payments(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id number status provider createdAt card { brand last4 }
      amount { formatted } amountCaptured { formatted } amountRefunded { formatted }
    } }
  }
}`;

const COLUMNS = [
  ["Number", (p) => p.number],
  ["Status", (p) => el("span", { class: `status ${p.status.toLowerCase()}` }, p.status)],
  ["Provider", (p) => p.provider],
  ["Card", (p) => (p.card ? `${p.card.brand} •••• ${p.card.last4}` : "")],
  ["Amount", (p) => p.amount.formatted],
  ["Captured", (p) => p.amountCaptured.formatted],
  ["Refunded", (p) => p.amountRefunded.formatted],
  ["Created", (p) => shortTime(p.createdAt)],
];

export class PaymentsPanel {
  constructor(form, table, more, summary) {
    Object.assign(this, { form, table, more, summary, rows: [], cursor: null });
  }

  filter() {
    const values = formValues(this.form);
    return {
      status: values.status ? [values.status] : null,
      provider: values.provider?.trim() || null,
      createdFrom: dayStart(values.from),
      createdTo: dayStart(values.to, true),
    };
  }

  async load({ append = false } = {}) {
    const data = await gql(QUERY, { first: PAGE, after: append ? this.cursor : null, filter: this.filter() });
    const page = data.payments;
    this.rows = [...(append ? this.rows : []), ...page.edges.map((e) => e.node)];
    this.cursor = page.pageInfo.endCursor;
    this.more.hidden = !page.pageInfo.hasNextPage;
    fillTable(this.table, COLUMNS, this.rows, "No payment matches.");
    this.table.dataset.total = String(page.totalCount);
    this.table.caption?.remove();
    this.table.prepend(el("caption", {}, `${this.rows.length} of ${page.totalCount}`));
  }
}
