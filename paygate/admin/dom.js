// Small DOM builders: text is always set as text (never as HTML), so nothing read from the API
// can become markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// Fill a <table> with a header row and one row per item; `columns` is [[title, item => text|Node]].
export function fillTable(table, columns, items, empty = "Nothing here.") {
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...columns.map(([title]) => el("th", {}, title)))),
    el("tbody", {}, ...(items.length ? items.map((item) => el("tr", {},
      ...columns.map(([, cell]) => el("td", {}, cell(item) ?? "")))) :
      [el("tr", {}, el("td", { colspan: String(columns.length), class: "empty" }, empty))])),
  );
}

export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// <input type=date> gives YYYY-MM-DD: the start of that day (UTC), or of the next for an end.
export function dayStart(value, next = false) {
  if (!value) return null;
  const day = new Date(`${value}T00:00:00Z`);
  if (next) day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString();
}

export const shortTime = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) : "");

// Minor units (a JSON number or string) as an exact decimal with the currency's ISO 4217 exponent,
// e.g. (1234, "USD") -> "12.34 USD", (1500, "JPY") -> "1500 JPY": BigInt arithmetic, never floats.
export function minorUnits(amount, currency) {
  const exponent = new Intl.NumberFormat("en", { style: "currency", currency })
    .resolvedOptions().maximumFractionDigits;
  const value = BigInt(amount);
  const digits = (value < 0n ? -value : value).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const decimal = exponent ? `${whole}.${digits.slice(-exponent)}` : whole;
  return `${value < 0n ? "-" : ""}${decimal} ${currency}`;
}
