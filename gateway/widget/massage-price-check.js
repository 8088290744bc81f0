// <massage-price-check>: a price check a clinic's booking page embeds with one script tag.
//
//   <script type="module" src="https://estimator.example.com/widget/v1/massage-price-check.js"></script>
//   <massage-price-check gateway="https://estimator.example.com" token="mest_..."
//       plans="acme-ppo-gold,contoso-hmo-silver" plan="acme-ppo-gold"
//       session-types="deep_tissue,swedish" lengths="30,60,90"></massage-price-check>
//
// Plain JavaScript, no framework, no build step. It asks GET /v1/plans once (the plans'
// names and dates they are served for) and POST /v1/estimates:session once per quote.
// The token must be a `quoter` token (it can only quote); the page's origin must be on the
// gateway's -cors-origins list. Diagnosis codes live only in the form field: never in
// localStorage, cookies or the URL (the form is never submitted, the page never navigates).

const SELF_PAY = "self-pay";
const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

const TYPE_NAMES = {
  swedish: "Swedish", hot_stone: "Hot stone", prenatal: "Prenatal", medical: "Medical",
  deep_tissue: "Deep tissue", sports: "Sports", myofascial: "Myofascial release",
  trigger_point: "Trigger point", lymphatic_drainage: "Lymphatic drainage",
};

const REFERRALS = [
  ["REFERRAL_KIND_NONE", "None"],
  ["REFERRAL_KIND_PRESCRIPTION", "A prescription for massage"],
  ["REFERRAL_KIND_PHYSICIAN_REFERRAL", "A physician's referral"],
  ["REFERRAL_KIND_INTEGRATIVE_CARE_PLAN", "An integrative care plan referral"],
];

// The notice the No Surprises Act requires providers to offer clients who do not have
// insurance or do not use it (45 CFR 149.610; the CMS standard notice wording).
const GFE_NOTICE = [
  "You have the right to receive a \u201cGood Faith Estimate\u201d explaining how much your " +
    "medical care will cost.",
  "Under the law, health care providers need to give patients who don\u2019t have insurance " +
    "or who are not using insurance an estimate of the bill for medical items and services.",
  "You have the right to receive a Good Faith Estimate for the total expected cost of any " +
    "non-emergency items or services. This includes related costs like medical tests, " +
    "prescription drugs, equipment, and hospital fees.",
  "Make sure your health care provider gives you a Good Faith Estimate in writing at least 1 " +
    "business day before your medical service or item. You can also ask your health care " +
    "provider, and any other provider you choose, for a Good Faith Estimate before you " +
    "schedule an item or service.",
  "If you receive a bill that is at least $400 more than your Good Faith Estimate, you can " +
    "dispute the bill.",
  "Make sure to save a copy or picture of your Good Faith Estimate.",
  "For questions or more information about your right to a Good Faith Estimate, visit " +
    "www.cms.gov/nosurprises or call 1-800-985-3059.",
];

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

let instances = 0;

/** Whole cents of a google.type.Money in JSON ({units: "64", nanos: 800000000}). */
export function moneyCents(money) {
  if (!money) return null;
  const units = Number(money.units || 0);
  const nanos = Number(money.nanos || 0);
  return units * 100 + Math.round(nanos / 10000000);
}

/** "$64.80" from a google.type.Money; "" when absent. */
export function formatMoney(money) {
  const cents = moneyCents(money);
  return cents === null ? "" : USD.format(cents / 100);
}

function list(value) {
  return (value || "").split(",").map((s) => s.trim()).filter(Boolean);
}

function typeName(type) {
  return TYPE_NAMES[type] || type.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The words a client reads for a failed call: never a status object, never a stack. */
function errorWords(status, body) {
  const detail = body && typeof body.error === "string" ? body.error
    : body && typeof body.message === "string" ? body.message : "";
  switch (status) {
    case 0:
      return "The price service could not be reached from this page. Please try again " +
        "later, or call the clinic.";
    case 400:
      return `Please check the details: ${detail || "the request was not accepted."}`;
    case 401:
      return "This price check is not signed in: its access key is missing, expired or " +
        "revoked. Please tell the clinic; you can still call them for a price.";
    case 403:
      return "This price check is not allowed to ask for prices. Please tell the clinic.";
    case 404:
      return detail ? `Not found: ${detail}` : "The price service does not know this plan.";
    case 429:
      return "Too many price checks are being made right now. Please wait a few seconds " +
        "and try again.";
    default:
      return status >= 500
        ? "The price service is having trouble right now. Please try again in a minute."
        : `The price check failed (${status})${detail ? `: ${detail}` : "."}`;
  }
}

class MassagePriceCheck extends HTMLElement {
  static get observedAttributes() {
    return ["plans", "plan", "session-types", "lengths"];
  }

  constructor() {
    super();
    this._id = `mpc${++instances}`;
    this._planNames = {};
    this._busy = false;
    this._built = false;
  }

  connectedCallback() {
    if (!this._built) {
      this._build();
      this._built = true;
      this._loadPlans();
    }
  }

  attributeChangedCallback() {
    if (this._built) this._fillChoices();
  }

  /** The gateway attribute, else the gateway this script was loaded from. */
  get _gateway() {
    return (this.getAttribute("gateway") || SCRIPT_ORIGIN).replace(/\/+$/, "");
  }

  _headers() {
    const headers = { "content-type": "application/json" };
    const token = this.getAttribute("token");
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  _el(tag, attrs = {}, text = "") {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    return el;
  }

  _field(form, name, label, control, hint) {
    const id = `${this._id}-${name}`;
    const row = this._el("div", { class: "mpc-row", "data-row": name });
    control.id = id;
    control.name = name;
    row.append(this._el("label", { for: id }, label), control);
    if (hint) {
      const hintId = `${id}-hint`;
      row.append(this._el("small", { id: hintId, class: "mpc-hint" }, hint));
      control.setAttribute("aria-describedby", hintId);
    }
    form.append(row);
    return control;
  }

  _build() {
    const form = this._el("form", { class: "mpc-form", novalidate: "" });
    form.append(this._el("h2", { class: "mpc-title" }, "Check your price"));
    this.$plan = this._field(form, "plan", "Your plan", this._el("select"));
    this.$date = this._field(form, "date", "Date of the session", this._el("input", { type: "date", required: "" }));
    this.$date.value = today();
    this.$type = this._field(form, "session_type", "Session type", this._el("select"));
    this.$minutes = this._field(form, "minutes", "Length", this._el("select"));
    this.$referral = this._field(form, "referral", "Referral or prescription", this._el("select"),
      "Many plans pay for massage only with one.");
    for (const [value, text] of REFERRALS) this.$referral.append(this._el("option", { value }, text));
    this.$referralDate = this._field(form, "referral_date", "Date it was written",
      this._el("input", { type: "date" }));
    this.$diagnosis = this._field(form, "diagnosis", "Diagnosis code (ICD-10), if you have one",
      this._el("input", { type: "text", autocomplete: "off", spellcheck: "false", inputmode: "text" }),
      "From your prescription, for example M54.50. It is sent only to price this session and never saved.");
    this.$visits = this._field(form, "visits_used", "Massage visits your plan already paid this year",
      this._el("input", { type: "number", min: "0", max: "365", value: "0" }));
    this.$submit = this._el("button", { type: "submit", class: "mpc-submit" }, "Check price");
    form.append(this.$submit);
    this.$status = this._el("div", { class: "mpc-answer", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.$error = this._el("div", { class: "mpc-error", role: "alert" });
    this.append(form, this.$error, this.$status);
    this._form = form;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this._quote();
    });
    this.$plan.addEventListener("change", () => this._showInsuranceFields());
    this.$referral.addEventListener("change", () => this._showInsuranceFields());
    this._fillChoices();
  }

  _fillChoices() {
    const offered = list(this.getAttribute("plans"));
    const preferred = this.getAttribute("plan") || offered[0] || SELF_PAY;
    if (!offered.includes(preferred) && preferred !== SELF_PAY) offered.unshift(preferred);
    this.$plan.replaceChildren();
    for (const id of offered) {
      this.$plan.append(this._el("option", { value: id }, this._planNames[id] || id));
    }
    this.$plan.append(this._el("option", { value: SELF_PAY }, "No insurance (self-pay)"));
    this.$plan.value = preferred;
    const types = list(this.getAttribute("session-types"));
    this.$type.replaceChildren(...(types.length ? types : ["swedish", "deep_tissue"]).map(
      (t) => this._el("option", { value: t }, typeName(t))));
    const lengths = list(this.getAttribute("lengths"));
    this.$minutes.replaceChildren(...(lengths.length ? lengths : ["30", "60", "90"]).map(
      (m) => this._el("option", { value: m }, `${m} minutes`)));
    if (lengths.includes("60")) this.$minutes.value = "60";
    this._showInsuranceFields();
  }

  _showInsuranceFields() {
    const insured = this.$plan.value !== SELF_PAY;
    for (const name of ["referral", "diagnosis", "visits_used"]) {
      this.querySelector(`[data-row="${name}"]`).hidden = !insured;
    }
    this.querySelector('[data-row="referral_date"]').hidden =
      !insured || this.$referral.value === "REFERRAL_KIND_NONE";
  }

  /** One GET /v1/plans: the plans' names, and which offered plans this service answers for. */
  async _loadPlans() {
    const { status, body } = await this._call("GET", "/v1/plans");
    if (status !== 200) {
      this._showError(errorWords(status, body));
      return;
    }
    for (const plan of body.plans || []) this._planNames[plan.plan_id] = plan.plan_name;
    const unknown = list(this.getAttribute("plans")).filter((id) => !(id in this._planNames));
    this._fillChoices();
    if (unknown.length) {
      this._showError(`The price service does not know these plans: ${unknown.join(", ")}.`);
    }
  }

  async _call(method, path, payload) {
    let response;
    try {
      response = await fetch(this._gateway + path, {
        method,
        headers: this._headers(),
        body: payload === undefined ? undefined : JSON.stringify(payload),
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (err) {
      return { status: 0, body: null }; // refused by CORS, offline, or the gateway down
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    return { status: response.status, body };
  }

  _request() {
    const [year, month, day] = this.$date.value.split("-").map(Number);
    const session = {
      plan_id: this.$plan.value,
      session_type: this.$type.value,
      minutes: Number(this.$minutes.value),
      date_of_service: { year, month, day },
    };
    if (session.plan_id !== SELF_PAY) {
      const kind = this.$referral.value;
      if (kind !== "REFERRAL_KIND_NONE" && this.$referralDate.value) {
        const [y, m, d] = this.$referralDate.value.split("-").map(Number);
        session.referral = { kind, issue_date: { year: y, month: m, day: d } };
      } else if (kind !== "REFERRAL_KIND_NONE") {
        session.referral = { kind };
      }
      const codes = this.$diagnosis.value.split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
      if (codes.length) session.diagnosis_codes = codes;
      const used = Number(this.$visits.value || 0);
      if (used > 0) session.accumulators = { visits_used: used };
    }
    return { session };
  }

  _check() {
    if (!this.$date.value) return "Please choose the date of the session.";
    if (this.$plan.value !== SELF_PAY && this.$referral.value !== "REFERRAL_KIND_NONE" &&
        !this.$referralDate.value) {
      return "Please give the date the referral or prescription was written.";
    }
    const used = this.$visits.value;
    if (used !== "" && !/^\d+$/.test(used)) return "Visits already used must be a whole number.";
    return "";
  }

  /** One POST /v1/estimates:session per quote; a second click while it runs does nothing. */
  async _quote() {
    if (this._busy) return;
    const problem = this._check();
    if (problem) {
      this._showError(problem);
      return;
    }
    this._busy = true;
    this.$submit.disabled = true;
    this.setAttribute("aria-busy", "true");
    this._showError("");
    this.$status.textContent = "Checking\u2026";
    try {
      const { status, body } = await this._call("POST", "/v1/estimates:session", this._request());
      if (status === 200 && body && body.estimate) {
        this._showEstimate(body.estimate);
      } else {
        this.$status.textContent = "";
        this._showError(errorWords(status, body));
      }
    } finally {
      this._busy = false;
      this.$submit.disabled = false;
      this.removeAttribute("aria-busy");
      this.dispatchEvent(new CustomEvent("price-checked", { bubbles: true }));
    }
  }

  _showError(words) {
    this.$error.textContent = words;
    this.$error.hidden = !words;
    this.toggleAttribute("data-error", Boolean(words));
  }

  _line(parent, field, label, value) {
    const row = this._el("div", { class: "mpc-figure" });
    row.append(this._el("dt", {}, label), this._el("dd", { "data-field": field }, value));
    parent.append(row);
  }

  _showEstimate(est) {
    const out = this._el("div", { class: "mpc-result" });
    const selfPay = est.coverage_basis === "COVERAGE_BASIS_SELF_PAY";
    const name = this._planNames[est.plan_id] || est.plan_id;
    let state;
    let headline;
    if (selfPay) {
      state = "self-pay";
      headline = `Self-pay price for a ${est.minutes}-minute ${typeName(est.session_type).toLowerCase()} session`;
    } else if (est.covered) {
      state = "covered";
      headline = `Covered by ${name}`;
    } else {
      state = "not-covered";
      headline = `Not covered by ${name}`;
    }
    out.setAttribute("data-state", state);
    out.append(this._el("p", { class: "mpc-headline", "data-field": "headline" }, headline));
    const figures = this._el("dl", { class: "mpc-figures" });
    if (selfPay) {
      this._line(figures, "cash-price", "Cash price", formatMoney(est.patient_pays));
    } else {
      this._line(figures, "patient-pays", "You pay about", formatMoney(est.patient_pays));
      this._line(figures, "plan-pays", "Your plan pays", formatMoney(est.plan_pays));
      if (est.sessions_remaining !== undefined && est.sessions_remaining !== null) {
        const limit = est.visit_limit ? ` of ${est.visit_limit}` : "";
        this._line(figures, "sessions-left", "Covered sessions left after this one",
          `${est.sessions_remaining}${limit}`);
      }
    }
    out.append(figures);
    const missing = est.missing || [];
    if (missing.length) {
      out.append(this._el("h3", {}, "Still needed before your plan pays"));
      const ul = this._el("ul", { "data-field": "missing" });
      for (const m of missing) ul.append(this._el("li", { "data-code": m.code }, m.message));
      out.append(ul);
    }
    const reasons = (est.reasons || []).filter((r) => r.message);
    if (reasons.length) {
      out.append(this._el("h3", {}, "Why"));
      const ul = this._el("ul", { "data-field": "reasons" });
      for (const r of reasons) ul.append(this._el("li", {}, r.message));
      out.append(ul);
    }
    if (selfPay || !est.covered) out.append(this._gfeNotice());
    out.append(this._el("p", { class: "mpc-small" },
      "An estimate, not a guarantee: your plan decides when the claim is filed."));
    this.$status.replaceChildren(out);
  }

  /** The Good Faith Estimate notice, offered to every client paying without insurance. */
  _gfeNotice() {
    const details = this._el("details", { class: "mpc-gfe", "data-field": "gfe-notice" });
    details.append(this._el("summary", {}, "Your right to a Good Faith Estimate"));
    for (const para of GFE_NOTICE) details.append(this._el("p", {}, para));
    details.append(this._el("p", {},
      "Ask the clinic for your written Good Faith Estimate when you book."));
    return details;
  }
}

if (!customElements.get("massage-price-check")) {
  customElements.define("massage-price-check", MassagePriceCheck);
}
