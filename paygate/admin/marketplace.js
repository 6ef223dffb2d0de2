// Sellers' money: their shares held after capture (holds) and what was paid out to them (payouts).

import { el, fillTable, minorUnits, shortTime } from "./dom.js";
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

const PAYOUTS = `query Payouts($first: Int, $filter: MarketplaceFilter) {
  payouts(first: $first, filter: $filter) {
    totalCount
    edges { node { legacyId sellerId status providerRef description failureCode createdAt amount { formatted } } }
  }
  marketplaceReport(filter: $filter) {
    sellerBalances { currency held available transferred inTransit paidOut }
    differences { sellerId currency ours theirs foundAt }
  }
}`;

export async function loadPayouts(table, balances) {
  const data = await gql(PAYOUTS, { first: 50, filter: null });
  fillTable(table, [
    ["Payout", (p) => String(p.legacyId)],
    ["Seller", (p) => legacyId(p.sellerId)],
    ["Amount", (p) => p.amount.formatted],
    ["Status", (p) => el("span", { class: `status ${p.status.toLowerCase()}` }, p.status)],
    ["Provider ref", (p) => p.providerRef ?? ""],
    ["Failure", (p) => p.failureCode ?? ""],
    ["Created", (p) => shortTime(p.createdAt)],
  ], data.payouts.edges.map((e) => e.node), "No payout.");
  table.dataset.total = String(data.payouts.totalCount);
  const report = data.marketplaceReport;
  const money = (field) => (b) => minorUnits(b[field], b.currency);
  fillTable(balances, [
    ["Currency", (b) => b.currency],
    ["Held", money("held")],
    ["Available", money("available")],
    ["Transferred", money("transferred")],
    ["In transit", money("inTransit")],
    ["Paid out", money("paidOut")],
  ], report?.sellerBalances ?? [], "No seller balance.");
}

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
