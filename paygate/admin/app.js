// The dashboard's entry point: the token form, then each panel loaded through GraphQL.

import { loadDeliveries } from "./deliveries.js";
import { loadDisputes } from "./disputes.js";
import { loadHolds, loadPayouts } from "./marketplace.js";
import { PaymentsPanel } from "./payments.js";
import { RequestsPanel } from "./requests.js";
import { loadStatistics } from "./stats.js";
import { token } from "./gql.js";

const $ = (selector) => document.querySelector(selector);

function report(message, isError = false) {
  const status = $("#status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// Each panel fails alone: a staff token sees statistics and payments but not the delivery log.
async function guarded(name, load) {
  try {
    await load();
    return true;
  } catch (error) {
    report(`${name}: ${error.message}`, true);
    return false;
  }
}

const payments = new PaymentsPanel($("#payments-form"), $("#payments-table"), $("#payments-more"));
const statistics = () => guarded("Statistics", () => loadStatistics($("#stats-form"), $("#stats-cards")));
const paymentsList = () => guarded("Payments", () => payments.load());
const deliveries = () => guarded("Webhook deliveries",
  () => loadDeliveries($("#deliveries-form"), $("#deliveries-table")));
const disputes = () => guarded("Disputes", () => loadDisputes($("#disputes-form"), $("#disputes-table")));
const marketplace = () => Promise.all([
  guarded("Holds", () => loadHolds($("#holds-table"))),
  guarded("Payouts", () => loadPayouts($("#payouts-table"), $("#balances-table"))),
]).then((done) => done.every(Boolean));
const requests = new RequestsPanel($("#requests-form"), $("#requests-table"), {
  report,
  // A decision moves a payment (and the figures): show the new state everywhere.
  onDecided: () => Promise.all([requestsList(), paymentsList(), statistics(), marketplace()]),
});
const requestsList = () => guarded("Refund requests", () => requests.load());

async function loadAll() {
  if (!token.get()) {
    report("Paste an admin token: `paygate token admin@example.com --role admin` prints one.", true);
    return;
  }
  report("Loading…");
  const results = await Promise.all([statistics(), paymentsList(), requestsList(), marketplace(), disputes(), deliveries()]);
  if (results.every(Boolean)) report("Up to date.");
  document.body.dataset.loaded = "true";
}

function onSubmit(form, load) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

onSubmit($("#token-form"), () => {
  token.set($("#token").value);
  $("#token").value = "";
  loadAll();
});
$("#forget").addEventListener("click", () => {
  token.clear();
  window.location.reload();
});
onSubmit($("#stats-form"), statistics);
onSubmit($("#payments-form"), paymentsList);
onSubmit($("#requests-form"), requestsList);
onSubmit($("#deliveries-form"), deliveries);
onSubmit($("#disputes-form"), disputes);
$("#payments-more").addEventListener("click", () => guarded("Payments", () => payments.load({ append: true })));

loadAll();
