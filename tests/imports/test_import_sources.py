"""The new sources (email events, content events, sales reps), accounts named by any key, the tenant map,
and channels that only the user's data has, through attribution and ROI."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from analytics.attribution.engine import attribute
from analytics.core.labels import LEARNED, label, learn
from analytics.finance.report import financial_report
from analytics.imports import channel_labels, detect_source, import_files
from analytics.imports.reading import describe_file
from analytics.warehouse.connection import connect
from tests.imports.test_import_files import query
from tests.paths import FIXTURES


def run(db, source: str, fixture: str):
    (result,) = import_files(db, source, [FIXTURES / fixture])
    assert result.rows_read == result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined
    return result


def reasons(db, source: str) -> dict[int, str]:
    return dict(query(db, "select line, reason from import_quarantine where source = ?", [source]))


@pytest.fixture
def crm(tmp_path) -> Path:
    """Accounts (Salesforce and HubSpot), HubSpot contacts (hs-106 Ada, hs-102 Grace, hs-108 Linus), campaigns."""
    db = tmp_path / "warehouse.duckdb"
    for source, fixture in [
        ("salesforce-accounts", "salesforce_accounts.csv"),
        ("hubspot-companies", "hubspot_companies.csv"),
        ("hubspot-contacts", "hubspot_contacts.csv"),
        ("salesforce-campaigns", "salesforce_campaigns.csv"),
    ]:
        run(db, source, fixture)
    return db


# -- email events ---------------------------------------------------------------------------------


def test_hubspot_email_events_export(crm):
    result = run(crm, "email-events", "hubspot_email_events.csv")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (7, 5, 2)
    assert query(crm, "select contact_id, campaign_id, event_type, ts from email_events order by ts, event_type") == [
        ("hs-106", "7001", "sent", datetime(2024, 3, 1, 10, 0)),  # created 1709287200000 ms
        ("hs-106", "7001", "delivered", datetime(2024, 3, 1, 10, 1)),
        ("hs-106", "7001", "open", datetime(2024, 3, 1, 11, 0)),  # recipient ADA@Analytical.io
        ("hs-106", "7001", "click", datetime(2024, 3, 1, 11, 1)),
        ("hs-102", "7001", "unsubscribe", datetime(2024, 3, 1, 12, 0)),  # UNSUBSCRIBED
    ]
    assert reasons(crm, "email-events") == {
        6: 'type "PROCESSED" is not one of sent, delivered, open, click, unsubscribe, bounce; '
        'map it under "values" > "event_type" in email_events.json',
        7: 'recipient "nobody@nowhere.example" matches no row of contacts; import that first or fix the value',
    }
    assert detect_source(list(describe_file(FIXTURES / "hubspot_email_events.csv").headers)) == "email-events"


def test_plain_email_events_by_contact_id_or_email(crm):
    result = run(crm, "email-events", "email_events.csv")
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    assert query(crm, "select contact_id, campaign_id, event_type from email_events order by ts") == [
        ("hs-102", "sf-7015e000005CMP1AAA", "sent"),  # campaign by name
        ("hs-108", "sf-7015e000005CMP1AAA", "open"),  # contact by email
        ("hs-106", None, "click"),  # HubSpot id 101, merged into hs-106
        ("hs-108", None, "open"),  # "Opened"
    ]
    assert "spam report" in reasons(crm, "email-events")[6]
    assert run(crm, "email-events", "email_events.csv").rows_loaded == 0  # re-import: the same events


# -- content and advocacy events -----------------------------------------------------------------


def test_content_and_advocacy_events(crm):
    result = run(crm, "content-events", "content_events.csv")
    assert (result.rows_loaded, result.rows_quarantined) == (6, 1)
    assert query(crm, "select contact_id, kind from content_events order by ts") == [
        ("hs-106", "blog_read"),
        ("hs-106", "webinar"),
        ("hs-102", "download"),  # "Whitepaper Download"
        ("hs-102", "referral"),  # "REFERRAL": a kind's own name in any case
        ("hs-108", "review"),
        ("hs-108", "case_study"),
    ]
    assert reasons(crm, "content-events")[8].startswith('kind "podcast" is not one of blog_read, webinar, download')
    # unmapped columns are kept
    assert query(crm, "select count(*) from import_extra where table_name = 'content_events'") == [(6,)]


# -- sales reps ---------------------------------------------------------------------------------------


def test_sales_reps_plain_and_hubspot_owners(crm):
    plain = run(crm, "sales-reps", "sales_reps.csv")
    assert (plain.rows_loaded, plain.rows_quarantined) == (2, 2)
    assert reasons(crm, "sales-reps") == {4: "negative capacity", 5: "name is empty"}
    owners = run(crm, "sales-reps", "hubspot_owners.csv")
    assert (owners.rows_loaded, owners.rows_merged) == (1, 1)  # Jane is a rep already (same email)
    assert query(crm, "select * from sales_reps order by rep_id") == [
        ("91002", "Kim Owner", "kim@revlens.example", None, None, None, None, "91002"),  # firstName + lastName
        ("R-1", "Jane Rep", "jane@revlens.example", "EMEA", "Enterprise", "senior", 40, "91001"),
        ("R-2", "Sam Rep", "sam@revlens.example", "NA", "Mid-Market", "mid", 60, None),  # "Mid Market"
    ]
    assert detect_source(list(describe_file(FIXTURES / "hubspot_owners.csv").headers)) == "sales-reps"


# -- accounts by any key, and the tenant map --------------------------------------------------


def test_tickets_name_their_account_by_domain_name_or_crm_id(crm):
    result = run(crm, "support-tickets", "support_tickets_by_domain.csv")
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    assert query(crm, "select ticket_id, account_id from support_tickets order by 1") == [
        ("Z-1", "sf-0015e000002ACC1AAA"),  # https://www.Radium-Labs.com/support -> radium-labs.com
        ("Z-2", "sf-0015e000002ACC2AAA"),  # fission.org
        ("Z-3", "sf-0015e000002ACC1AAA"),  # by name
        ("Z-4", "sf-0015e000002ACC2AAA"),  # by Salesforce id
    ]
    assert reasons(crm, "support-tickets") == {
        6: 'Organization "unknown.example" matches no row of accounts; import that first or fix the value'
    }


def test_a_tenant_map_joins_product_events_to_crm_companies(crm):
    tenants = run(crm, "account-tenants", "account_tenants.csv")
    assert (tenants.rows_updated, tenants.rows_quarantined) == (2, 1)  # no new account is made up
    assert query(crm, "select account_id, name, tenant_id from accounts where tenant_id is not null order by 1") == [
        ("sf-0015e000002ACC1AAA", "Radium Labs", "tnt-radium"),  # by domain
        ("sf-0015e000002ACC2AAA", "Fission Partners", "tnt-fission"),  # by name
    ]
    events = run(crm, "product-events", "product_events_by_tenant.csv")
    assert (events.rows_loaded, events.rows_quarantined) == (2, 1)
    assert query(crm, "select account_id, feature_id, session_duration_s from feature_usage_events order by ts") == [
        ("sf-0015e000002ACC1AAA", "dashboards", 120.0),
        ("sf-0015e000002ACC2AAA", "exports", 30.0),
    ]
    assert reasons(crm, "product-events")[4].startswith('tenant_id "tnt-unknown" matches no row of accounts')


def test_a_tenant_id_from_a_crm_property(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    companies = tmp_path / "companies.csv"
    companies.write_text("Record ID,Company name,Company Domain Name,Tenant ID\n31,Orbit,orbit.example,ws-31\n")
    (result,) = import_files(db, "hubspot-companies", [companies])
    assert result.rows_loaded == 1
    events = tmp_path / "events.csv"
    events.write_text("tenant_id,event,ts\nws-31,login,2024-05-01 08:00\n")
    (result,) = import_files(db, "product-events", [events])
    assert query(db, "select account_id, feature_id from feature_usage_events") == [("hs-31", "login")]


def test_an_older_warehouse_gets_the_tenant_column_on_its_next_import(tmp_path):
    db = tmp_path / "old.duckdb"
    con = connect(db)
    from analytics.warehouse.schema import SCHEMA

    con.execute(SCHEMA["accounts"].replace(",\n            tenant_id varchar", ""))
    assert "tenant_id" not in [r[0] for r in con.execute("describe accounts").fetchall()]
    con.close()
    run(db, "hubspot-companies", "hubspot_companies.csv")
    assert query(db, "select count(*) from accounts where tenant_id is null") == [(2,)]


# -- channels are the user's -----------------------------------------------------------------------


@pytest.fixture
def custom_channels(tmp_path) -> Path:
    """One won deal (hs-106, 12,500, closed 2024-03-31) touched by Email Nurture, Content Syndication and a
    Trade Show; costs on the first two (January 2024)."""
    db = tmp_path / "warehouse.duckdb"
    for source, fixture in [
        ("hubspot-companies", "hubspot_companies.csv"),
        ("hubspot-contacts", "hubspot_contacts.csv"),
        ("hubspot-deals", "hubspot_deals.csv"),
        ("salesforce-campaigns", "salesforce_campaigns_types.csv"),
        ("touchpoints", "touchpoints_custom_channels.csv"),
        ("costs", "costs_salesforce_report.csv"),
    ]:
        run(db, source, fixture)
    return db


def test_an_unmapped_channel_is_kept_with_its_label_and_a_warning(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    result = run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    assert (result.rows_loaded, result.rows_quarantined) == (5, 0)  # nothing rejected for its Type
    assert query(db, "select name, channel, type from campaigns order by name") == [
        ("Nurture Q1", "email_nurture", "Email Nurture"),
        ("Nurture Q1 (EMEA)", "email_nurture", "Email Nurture"),
        ("Product webinar", "webinar", "Webinar"),  # a synonym the mapping knows
        ("SaaStr booth", "events", "Trade Show"),  # Salesforce's picklist: Trade Show -> events
        ("Syndication Q1", "content_syndication", "Content Syndication"),
    ]
    (warning,) = result.warnings
    assert warning.startswith(
        '3 rows have a channel the mapping does not name: "Email Nurture" (2 rows, as email_nurture), '
        '"Content Syndication" (1 rows, as content_syndication); each is kept as its own channel.'
    )
    assert '"sources" > "salesforce-campaigns" > "values" > "channel" in salesforce.json' in warning
    con = connect(db, read_only=True)
    try:
        assert channel_labels(con) == {"email_nurture": "Email Nurture", "content_syndication": "Content Syndication"}
    finally:
        con.close()
    assert query(db, "select warnings->>0 from import_runs") == [(warning,)]


def test_a_synonym_the_mapping_names_gives_no_warning():
    from analytics.imports.mapping import source_for

    touchpoints = source_for("touchpoints").values["channel"]
    campaigns = source_for("salesforce-campaigns").values["channel"]
    # Salesforce's Campaign Type picklist and HubSpot's Original Source values
    for value in (
        "Webinar",
        "Conference",
        "Trade Show",
        "Email",
        "Advertisement",
        "Banner Ads",
        "Direct Mail",
        "Public Relations",
        "Partners",
        "Referral Program",
        "Telemarketing",
        "Other",
    ):
        assert value.casefold() in campaigns and value.casefold() in touchpoints, value
    for value in (
        "Organic Search",
        "Paid Search",
        "Email Marketing",
        "Social Media",
        "Paid Social",
        "Referrals",
        "Other Campaigns",
        "Direct Traffic",
        "Offline Sources",
        "DIRECT_TRAFFIC",
    ):
        assert value.casefold() in touchpoints, value


def test_unknown_channels_flow_through_attribution(custom_channels):
    con = connect(custom_channels, read_only=True)
    try:
        credit = attribute(con, ["linear", "first_touch", "markov", "shapley"], by="channel")
    finally:
        con.close()
    linear = {r["channel"]: r["attributed_revenue"] for r in credit.filter(credit["model"] == "linear").to_dicts()}
    assert linear == pytest.approx(
        {"email_nurture": 12_500 / 3, "content_syndication": 12_500 / 3, "events": 12_500 / 3, "(unattributed)": 0}
    )
    first = {r["channel"]: r["attributed_revenue"] for r in credit.filter(credit["model"] == "first_touch").to_dicts()}
    assert first["email_nurture"] == 12_500.0
    for model in ("markov", "shapley"):
        rows = credit.filter(credit["model"] == model)
        assert rows["attributed_revenue"].sum() == pytest.approx(12_500.0)  # the credit sums to what it splits
        assert set(rows["channel"]) >= {"email_nurture", "content_syndication"}


def test_unknown_channels_flow_through_roi(custom_channels):
    con = connect(custom_channels, read_only=True)
    try:
        report = financial_report(
            con, date(2024, 1, 1), date(2024, 3, 31), model="linear", n_boot=0, compare=False, hours_per_won_deal=0
        )
    finally:
        con.close()
    rows = {r["channel"]: r for r in report.by_channel.to_dicts()}
    # email_nurture: Nur1 1,250.50 + 40 and nur1 99 (two campaigns of the channel); content_syndication 400
    assert rows["email_nurture"]["total_investment"] == pytest.approx(1_389.5)
    assert rows["content_syndication"]["total_investment"] == pytest.approx(400.0)
    assert rows["email_nurture"]["attributed_revenue"] == pytest.approx(12_500 / 3)
    # roi = (revenue - investment) / investment, rounded as the spec does
    assert rows["email_nurture"]["roi_percentage"] == round((12_500 / 3 - 1_389.5) / 1_389.5 * 100, 2)


def test_labels_show_the_exports_words_for_a_channel_only_the_data_has():
    saved = dict(LEARNED)
    try:
        learn("channel", {"email_nurture": "Email Nurture"})
        assert label("channel", "email_nurture") == "Email Nurture"
        assert label("channel", "email") == "Email"  # the vocabulary comes first
        assert label("channel", "field_marketing") == "Field marketing"  # neither: made human
    finally:
        LEARNED.clear()
        LEARNED.update(saved)
