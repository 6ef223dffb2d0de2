// Sellers' money: their shares held after capture (holds) and what was paid out to them (payouts).

import { el, fillTable, shortTime } from "./dom.js";
import { gql } from "./gql.js";

const HOLDS = `query Holds($first: Int) {
  holds(first: $first) {
    totalCount
    edges { node { paymentId sellerId captureRef status releasesAt releasedAt amount { formatted } held { formatted } } }
  }
}`;

// A global id is base64 of "Type:id"; people know sellers by their integer id.
const legacyId = (id) => {
  try {
    return atob(id).split(":")[1] ?? id;
  } catch {
    return id;
  }
};

export async function loadHolds(table) {
  const data = await gql(HOLDS, { first: 50 });
  fillTable(table, [
    ["Capture", (h) => h.captureRef],
    ["Seller", (h) => legacyId(h.sellerId)],
    ["Share", (h) => h.amount.formatted],
    ["Still held", (h) => h.held.formatted],
    ["Status", (h) => el("span", { class: `status ${h.status.toLowerCase()}` }, h.status)],
    ["Releases", (h) => shortTime(h.releasedAt ?? h.releasesAt)],
  ], data.holds.edges.map((e) => e.node), "No hold.");
  table.dataset.total = String(data.holds.totalCount);
}
