"""The Good Faith Estimate as a small self-contained HTML page (string.Template, no new deps).

Every value is HTML-escaped; the page has no scripts and no external resources, so it can be
mailed or printed as is.
"""

from __future__ import annotations

from html import escape
from string import Template

from service.gfe.document import GoodFaithEstimate, usd

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Good Faith Estimate - $client_name</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #111; max-width: 60em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 1.5em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
tfoot td { font-weight: bold; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
</style>
</head>
<body>
<h1>Good Faith Estimate</h1>
<p>Under the No Surprises Act, health care providers need to give patients who do not have
insurance or who are not using insurance an estimate of the bill for health care items and
services before those items or services are provided.</p>
<dl>
<dt>Date issued</dt><dd class="issued">$issued_on</dd>
</dl>

<h2>Patient</h2>
<dl>
<dt>Name</dt><dd class="client-name">$client_name</dd>
<dt>Date of birth</dt><dd class="client-dob">$client_dob</dd>
</dl>

<h2>Provider</h2>
<dl>
<dt>Name</dt><dd class="provider-name">$provider_name</dd>
<dt>NPI</dt><dd class="npi">$npi</dd>
<dt>TIN</dt><dd class="tin">$tin</dd>
<dt>Address</dt><dd class="address">$address</dd>
</dl>

<h2>Service</h2>
<dl>
<dt>Description</dt><dd class="description">$description</dd>
<dt>Date(s)</dt><dd class="dates">$dates</dd>
</dl>

<h2>Estimated items and services</h2>
<table>
<thead><tr><th>Date of service</th><th>Service</th><th>Diagnosis codes</th>
<th>Service code (CPT)</th><th class="num">Units</th>
<th class="num">Expected charge</th></tr></thead>
<tbody>
$rows
</tbody>
<tfoot><tr><td colspan="5">Total estimated charges</td>
<td class="num total">$total</td></tr></tfoot>
</table>

<h2>Disclaimers</h2>
<ul class="disclaimers">
$disclaimers
</ul>
</body>
</html>
""")


def render_html(gfe: GoodFaithEstimate) -> str:
    """The estimate as one HTML document."""
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(line.date_of_service.isoformat())}</td>"
        f"<td>{escape(line.description)}</td>"
        f"<td>{escape(', '.join(line.diagnosis_codes) or 'none given')}</td>"
        f"<td>{escape(line.cpt_code)}</td>"
        f'<td class="num">{line.units}</td>'
        f'<td class="num">{escape(usd(line.charge))}</td>'
        "</tr>"
        for line in gfe.lines
    )
    return _PAGE.substitute(
        client_name=escape(gfe.client.name),
        client_dob=escape(gfe.client.date_of_birth.isoformat()),
        issued_on=escape(gfe.issued_on.isoformat()),
        provider_name=escape(gfe.provider.name),
        npi=escape(gfe.provider.npi),
        tin=escape(gfe.provider.tin),
        address="<br>".join(escape(a) for a in gfe.provider.address_lines),
        description=escape(gfe.service_description),
        dates=escape(gfe.dates_text()),
        rows=rows,
        total=escape(usd(gfe.total)),
        disclaimers="\n".join(f"<li>{escape(d)}</li>" for d in gfe.disclaimers),
    )
