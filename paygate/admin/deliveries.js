// Outgoing webhook deliveries (the delivery log): what was sent where, and how it went.

import { fillTable, formValues, shortTime } from "./dom.js";
import { gql } from "./gql.js";

const QUERY = `query Deliveries($first: Int, $status: [WebhookDeliveryStatus!]) {
  webhookDeliveries(first: $first, status: $status) {
    edges { node { legacyId eventId eventType objectType objectId status attemptCount lastStatusCode
                   nextAttemptAt createdAt } }
  }
}`;

export async function loadDeliveries(form, table) {
  const status = formValues(form).status;
  const data = await gql(QUERY, { first: 50, status: status ? [status] : null });
  fillTable(table, [
    ["Event", (d) => d.eventType],
    ["Object", (d) => `${d.objectType} ${d.objectId}`],
    ["Status", (d) => d.status],
    ["Attempts", (d) => String(d.attemptCount)],
    ["Last answer", (d) => (d.lastStatusCode === null ? "" : String(d.lastStatusCode))],
    ["Next attempt", (d) => shortTime(d.nextAttemptAt)],
    ["Created", (d) => shortTime(d.createdAt)],
  ], data.webhookDeliveries.edges.map((e) => e.node), "No delivery yet.");
}
