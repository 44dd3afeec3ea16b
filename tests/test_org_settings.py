"""org.yml as the L&D team writes it: roles, budgets, leads, holdout, with file:line messages."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.org import DEFAULT_ROLE, OrgSettings, Role, cosign_warnings, parse_org_settings

FILE = "playbooks/org.yml"

GOOD = """\
sprint:
  days: 14
  starts: 2026-01-05
roles:
  engineer:
    nudges: 2
    minutes: 10
    members:
      - alice
      - team:backend
  senior:
    nudges: 1
    minutes: 5
    members:
      - bob
default_role: engineer
leads:
  carol:
    - alice
    - team:backend
  dave:
    - bob
holdout_share: 0.2
holdout_seed: acme-2026
cosign_expiry_days: 7
evidence_repo: acme/learning-evidence
"""


def edit(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def problems_of(text: str) -> list[str]:
    settings, problems = parse_org_settings(text, FILE)
    if problems:
        assert settings is None, "settings with problems must not be used"
    return [str(p) for p in problems]


def test_a_valid_org_file_parses():
    settings, problems = parse_org_settings(GOOD, FILE)
    assert problems == []
    assert settings == OrgSettings(
        sprint_days=14,
        sprint_start=dt.date(2026, 1, 5),
        roles={
            "engineer": Role("engineer", nudges=2, minutes=10, members=("alice", "team:backend")),
            "senior": Role("senior", nudges=1, minutes=5, members=("bob",)),
        },
        default_role="engineer",
        leads={"carol": ("alice", "team:backend"), "dave": ("bob",)},
        holdout_share=0.2,
        holdout_seed="acme-2026",
        cosign_expiry_days=7,
        evidence_repo="acme/learning-evidence",
        source=FILE,
    )


def test_an_empty_org_file_gives_the_defaults():
    settings, problems = parse_org_settings("", FILE)
    assert problems == []
    assert settings.roles == {"engineer": DEFAULT_ROLE}
    assert settings.default_role == "engineer"
    assert (settings.holdout_share, settings.holdout_share_kept) == (0.4, 0.05)  # evaluating, kept
    assert settings.leads == {}


def test_a_role_without_limits_has_no_limits():
    settings, problems = parse_org_settings("roles:\n  staff:\n    members: [erin]\n", FILE)
    assert problems == []
    assert settings.roles == {"staff": Role("staff", nudges=None, minutes=None, members=("erin",))}
    assert settings.default_role == "staff"


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            edit("default_role: engineer", "default_role: staff"),
            [
                (
                    f"{FILE}:16: default_role: 'staff' is not one of the roles defined above "
                    "(engineer, senior); use one of them"
                )
            ],
            id="unknown-default-role",
        ),
        pytest.param(
            edit("nudges: 1", "nudges: -1"),
            [f"{FILE}:12: roles.senior.nudges: must be at least 0, found -1"],
            id="negative-nudge-budget",
        ),
        pytest.param(
            edit("minutes: 10", "minutes: -5"),
            [f"{FILE}:7: roles.engineer.minutes: must be at least 0, found -5"],
            id="negative-minute-budget",
        ),
        pytest.param(
            edit("holdout_share: 0.2", "holdout_share: 1.5"),
            [f"{FILE}:23: holdout_share: must be between 0.0 and 0.9, found 1.5"],
            id="holdout-share-too-large",
        ),
        pytest.param(
            edit("holdout_share: 0.2", "holdout_share: 20%"),
            [f"{FILE}:23: holdout_share: expected a number such as 0.4, found '20%'"],
            id="holdout-share-as-percent",
        ),
        pytest.param(
            edit("  dave:\n    - bob", "  dave:\n    - bob\n    - Dave"),
            [
                (
                    f"{FILE}:23: leads.dave[1]: dave cannot co-sign their own nudges; remove Dave from "
                    "this list and name their own lead under leads"
                )
            ],
            id="lead-of-themself",
        ),
        pytest.param(
            edit("      - bob", "      - '@bob'"),
            [
                (
                    f"{FILE}:14: roles.senior.members: '@bob' is not a GitHub login; write logins "
                    "without '@' (alice) or a team as team:slug"
                )
            ],
            id="member-with-at-sign",
        ),
        pytest.param(
            edit("  dave:\n    - bob", "  dave:\n    - '@bob'"),
            [
                (
                    f"{FILE}:21: leads.dave: '@bob' is not a GitHub login; write logins without '@' "
                    "(alice) or a team as team:slug"
                )
            ],
            id="led-login-with-at-sign",
        ),
        pytest.param(
            edit("holdout_share: 0.2", "holdout_shares: 0.2"),
            [f"{FILE}:23: holdout_shares: unknown field; did you mean 'holdout_share'?"],
            id="unknown-key-did-you-mean",
        ),
        pytest.param(
            edit("    nudges: 1", "    nudge: 1"),
            [f"{FILE}:12: roles.senior.nudge: unknown field; did you mean 'nudges'?"],
            id="unknown-role-key",
        ),
        pytest.param(
            edit("      - bob", "      - bob\n      - Alice"),
            [
                f"{FILE}:16: roles.senior.members[1]: Alice is already listed under role 'engineer'; keep one"
            ],
            id="member-under-two-roles",
        ),
        pytest.param(
            edit("      - bob", "      - bob\n      - team:backend"),
            [
                (
                    f"{FILE}:16: roles.senior.members[1]: team:backend is already listed under role "
                    "'engineer'; keep one"
                )
            ],
            id="team-under-two-roles",
        ),
        pytest.param(
            edit("  starts: 2026-01-05", "  starts: next monday"),
            [f"{FILE}:3: sprint.starts: expected a date like 2026-01-05, found 'next monday'"],
            id="sprint-start-not-a-date",
        ),
        pytest.param(
            edit("  days: 14", "  days: 10000000000"),
            [
                f"{FILE}:2: sprint.days: must be at most 90 days, found 10000000000; write a number "
                "from 1 to 90, like 14"
            ],
            id="huge-sprint",
        ),
        pytest.param(
            edit("cosign_expiry_days: 7", "cosign_expiry_days: 1000000000"),
            [
                f"{FILE}:25: cosign_expiry_days: must be at most 90 days, found 1000000000; write "
                "a number from 1 to 90, like 7"
            ],
            id="huge-cosign-expiry",
        ),
        pytest.param(
            edit("  starts: 2026-01-05", "  starts: 9999-12-31"),
            [
                f"{FILE}:3: sprint.starts: must be a day between 2000-01-01 and 2100-12-31, found "
                "9999-12-31; write the first day of any recent sprint, like 2026-01-05"
            ],
            id="sprint-start-at-the-end-of-time",
        ),
        pytest.param(
            GOOD + "about_url: http://wiki.acme.example/nudges\n",
            [
                f"{FILE}:27: about_url: must be a full link starting with https://, found "
                "'http://wiki.acme.example/nudges'"
            ],
            id="about-url-not-https",
        ),
        pytest.param(
            GOOD + "about_url: 'https://wiki.acme.example/<!--'\n",
            [
                f"{FILE}:27: about_url: contains '<', which breaks the link in a comment; write such "
                "characters percent-encoded (a space as %20), found 'https://wiki.acme.example/<!--'"
            ],
            id="about-url-opening-an-html-comment",
        ),
        pytest.param(
            edit("  dave:\n    - bob", "  dave:\n    - bob carol"),
            [
                (
                    f"{FILE}:21: leads.dave: 'bob carol' is not a GitHub login; write logins without "
                    "'@' (alice) or a team as team:slug"
                )
            ],
            id="two-logins-in-one-entry",
        ),
        pytest.param(
            edit("  dave:\n", "  'dave <!--':\n"),
            [
                f"{FILE}:21: leads.dave <!--: a lead must be one GitHub login without '@', like "
                "carol; found 'dave <!--'"
            ],
            id="lead-that-is-not-a-login",
        ),
        pytest.param(
            edit("  days: 14", "  days: 0"),
            [f"{FILE}:2: sprint.days: must be at least 1, found 0"],
            id="zero-day-sprint",
        ),
        pytest.param(
            edit("holdout_seed: acme-2026", "holdout_seed: acme-2026\nholdout_share: 0.3"),
            [
                f"{FILE}:25: holdout_share: appears twice; keep one (the later one would silently win)"
            ],
            id="duplicate-key",
        ),
    ],
)
def test_each_mistake_names_file_line_and_field(text, expected):
    assert problems_of(text) == expected


def test_an_unquoted_at_sign_is_a_yaml_error_on_its_line():
    [problem] = problems_of(edit("      - bob", "      - @bob"))
    assert problem.startswith(f"{FILE}:15: (yaml): found character '@' that cannot start any token")


def test_a_lead_written_with_an_at_sign_is_rejected():
    # Otherwise the co-sign request would mention "@@dave" and dave's 👍 would never count.
    settings, problems = parse_org_settings(edit("  dave:", "  '@dave':"), FILE)
    assert settings is None
    assert [(p.file, p.line, p.field) for p in problems] == [(FILE, 21, "leads.@dave")]
    assert "'@'" in problems[0].message


def test_a_default_role_that_names_no_role_is_rejected_without_a_roles_section():
    # With no roles written, the only role is the built-in "engineer"; "staff" is a typo.
    settings, problems = parse_org_settings("holdout_share: 0.1\ndefault_role: staff\n", FILE)
    assert settings is None
    assert [(p.file, p.line, p.field) for p in problems] == [(FILE, 2, "default_role")]


# ------------------------------------------------------------------------------- lookups

SETTINGS, _ = parse_org_settings(
    edit("      - bob", "      - bob\n      - team:platform").replace(
        "  dave:\n    - bob", "  dave:\n    - bob\n    - team:platform\n  erin:\n    - Alice", 1
    ),
    FILE,
)
TEAMS = {"backend": frozenset({"frank", "grace"}), "platform": frozenset({"heidi", "grace"})}


@pytest.mark.parametrize(
    "login, role",
    [
        ("alice", "engineer"),  # listed directly
        ("ALICE", "engineer"),  # logins are case-insensitive
        ("bob", "senior"),
        ("Bob", "senior"),
        ("frank", "engineer"),  # through team:backend
        ("heidi", "senior"),  # through team:platform
        ("grace", "engineer"),  # in both teams: the first role listing a team of hers
        ("ivan", "engineer"),  # listed nowhere: the default role
    ],
)
def test_role_of_resolves_direct_logins_and_teams(login, role):
    assert SETTINGS.role_of(login, TEAMS).name == role


def test_a_direct_listing_wins_over_a_team_listing():
    settings, problems = parse_org_settings(
        "roles:\n  engineer:\n    members: [team:backend]\n  senior:\n    nudges: 1\n    members: [frank]\n",
        FILE,
    )
    assert problems == []
    assert settings.role_of("frank", TEAMS).name == "senior"
    assert settings.role_of("grace", TEAMS).name == "engineer"


def test_team_entries_count_for_nothing_without_the_team_members():
    assert SETTINGS.role_of("frank").name == "engineer"  # the default, by chance the same role
    assert SETTINGS.role_of("heidi").name == "engineer"  # not senior: the team is unknown
    assert SETTINGS.leads_of("frank") == ()


@pytest.mark.parametrize(
    "login, leads",
    [
        ("alice", ("carol", "erin")),
        ("Alice", ("carol", "erin")),
        ("bob", ("dave",)),
        ("frank", ("carol",)),  # team:backend
        ("heidi", ("dave",)),  # team:platform
        ("grace", ("carol", "dave")),  # both teams
        ("ivan", ()),
        ("carol", ()),  # nobody leads carol
    ],
)
def test_leads_of_resolves_direct_logins_and_teams(login, leads):
    assert SETTINGS.leads_of(login, TEAMS) == leads


def test_a_lead_in_their_own_team_is_never_their_own_co_signer():
    settings, problems = parse_org_settings("leads:\n  frank:\n    - team:backend\n", FILE)
    assert problems == []
    assert settings.leads_of("grace", TEAMS) == ("frank",)
    assert settings.leads_of("frank", TEAMS) == ()
    assert settings.leads_of("FRANK", TEAMS) == ()


def test_team_slugs_lists_every_team_mentioned():
    assert SETTINGS.team_slugs() == {"backend", "platform"}


def test_the_about_page_is_read():
    settings, problems = parse_org_settings(
        GOOD + "about_url: https://wiki.acme.example/nudges\n", FILE
    )
    assert problems == [] and settings.about_url == "https://wiki.acme.example/nudges"
    assert parse_org_settings(GOOD, FILE)[0].about_url is None


# ------------------------------------------------------------------- who can co-sign (warnings)

SIGNIFICANT = ["secrets-in-code"]


def warnings_of(text: str, significant=SIGNIFICANT) -> list[str]:
    found = cosign_warnings(text, FILE, significant)
    assert all(w.warning for w in found)
    return [str(w) for w in found]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            edit(
                "leads:\n  carol:\n    - alice\n    - team:backend\n  dave:\n    - bob\n",
                "leads: {}\n",
            ),
            [
                f"{FILE}:17: warning: leads: nobody can co-sign, so the significant playbook "
                "secrets-in-code is never sent; name each lead with the logins or teams they "
                "co-sign for, like:  leads: {carol: [alice, team:backend]}"
            ],
            id="no-leads",
        ),
        pytest.param(
            "sprint:\n  days: 14\n",
            [
                f"{FILE}:1: warning: leads: nobody can co-sign, so the significant playbook "
                "secrets-in-code is never sent; name each lead with the logins or teams they "
                "co-sign for, like:  leads: {carol: [alice, team:backend]}"
            ],
            id="no-leads-section",
        ),
        pytest.param(
            edit("  dave:\n    - bob\n", ""),
            [
                f"{FILE}:15: warning: roles.senior.members[0]: no lead co-signs for bob, so the "
                "significant playbook secrets-in-code never reaches them (unless they are in a team a "
                "lead covers); add bob to a lead's list under leads, like:  carol: [bob]"
            ],
            id="a-role-member-nobody-leads",
        ),
        pytest.param(
            edit("  carol:\n    - alice\n    - team:backend\n", "  carol:\n    - bob\n"),
            [
                f"{FILE}:9: warning: roles.engineer.members[0]: no lead co-signs for alice, so the "
                "significant playbook secrets-in-code never reaches them (unless they are in a team a "
                "lead covers); add alice to a lead's list under leads, like:  carol: [alice]",
                f"{FILE}:10: warning: roles.engineer.members[1]: no lead co-signs for team:backend, "
                "so the significant playbook secrets-in-code never reaches them; add team:backend to "
                "a lead's list under leads, like:  carol: [team:backend]",
                f"{FILE}:16: warning: default_role: no lead co-signs for anyone in the default role "
                "'engineer' (everyone not listed under another role), so the significant playbook "
                "secrets-in-code never reaches them; list their logins or teams under a lead, like:  "
                "carol: [team:backend]",
            ],
            id="the-default-role-members-nobody-leads",
        ),
        pytest.param(
            edit(
                "  engineer:\n    nudges: 2\n    minutes: 10\n    members:\n      - alice\n      - team:backend\n",
                "  engineer:\n    nudges: 2\n",
            ).replace("  carol:\n    - alice\n    - team:backend\n", ""),
            [
                f"{FILE}:12: warning: default_role: no lead co-signs for anyone in the default role "
                "'engineer' (everyone not listed under another role), so the significant playbook "
                "secrets-in-code never reaches them; list their logins or teams under a lead, like:  "
                "carol: [team:backend]"
            ],
            id="nobody-in-the-default-role-has-a-lead",
        ),
    ],
)
def test_a_significant_playbook_nobody_can_co_sign_is_a_warning(text, expected):
    assert parse_org_settings(text, FILE)[1] == [], "a warning, not an error: the file loads"
    assert warnings_of(text) == expected


def test_no_warning_when_every_listed_engineer_has_a_lead_or_nothing_is_significant():
    assert warnings_of(GOOD) == []
    assert warnings_of("leads: {}\n", significant=[]) == []
    assert warnings_of("leads: [broken\n") == []  # the YAML error is reported, not a warning


def test_the_warning_names_every_significant_playbook():
    [warning] = warnings_of("leads: {}\n", significant=["secrets-in-code", "sql-injection"])
    assert "the significant playbooks secrets-in-code, sql-injection are never sent" in warning


def test_deeply_nested_org_settings_are_a_problem_not_a_crash():
    settings, problems = parse_org_settings(
        "leads:\n  carol: " + "[" * 3000 + "]" * 3000 + "\n", FILE
    )
    assert settings is None
    assert [(p.line, p.field) for p in problems] == [(2, "(yaml)")]
    assert "nested more than 20 levels deep" in problems[0].message


def test_the_shipped_org_file_holds_out_the_share_the_kill_switch_was_measured_with():
    """A deployment that ships playbooks/org.yml as it is gets the power the README reports."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "playbooks" / "org.yml").read_text()
    org, problems = parse_org_settings(text, FILE)
    assert problems == [] and org is not None
    assert org.holdout_share == OrgSettings().holdout_share == 0.4
    assert org.holdout_share_kept == OrgSettings().holdout_share_kept == 0.05
    assert org.evaluation_rules() == OrgSettings().evaluation_rules()
