"""Settings: every documented key parses, and every kind of mistake is named with key and file."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtickets.cli import main
from mailtickets.config import load_settings
from mailtickets.config.load import EMBEDDED_DEFAULT, parse_settings
from mailtickets.errors import ConfigError
from tests.support.cli import SECRET
from tests.unit.config.example import EXAMPLE, documented_defaults, uncommented

EXAMPLE_ENV = {
    "MAILTICKETS_SECRET": SECRET,
    "IMAP_PASSWORD": "imap-pw",
    "GMAIL_CLIENT_SECRET": "client-secret",
    "GMAIL_REFRESH_TOKEN": "refresh-token",
    "SMTP_PASSWORD": "smtp-pw",
    "MAILTICKETS_WEBHOOK_SECRET": SECRET,
    "MAILTICKETS_API_DASHBOARD": "api-token-0123456789-abcdefghijklmn",
}


# Keys whose value is a free-form table of the user's own keys, not of ours.
MAPPINGS = {"calendar.hours", "rule.match.headers"}


def _documented_keys(data: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        keys.add(path)
        if path in MAPPINGS:
            continue
        tables = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
        for table in tables:
            if isinstance(table, dict):
                keys |= _documented_keys(table, path)
    return keys


def _problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "site.toml", Path("site.toml"), env or {})
    return list(caught.value.problems)


def test_example_parses_and_documents_every_key_the_loader_reads(tmp_path: Path) -> None:
    # Every example setting switched on; its site template directory must exist too.
    text = uncommented(EXAMPLE.read_text()).replace("/etc/mailtickets/templates", str(tmp_path))
    settings, asked = parse_settings(text, str(EXAMPLE), EXAMPLE, EXAMPLE_ENV)
    # A key is documented by a setting or by its `# key = value` default line.
    documented = _documented_keys(tomllib.loads(text)) | set(documented_defaults(text))
    assert documented == set(asked)
    assert settings.tickets.subject_prefix == "ACME"
    assert settings.tickets.secret == SECRET.encode()
    assert settings.imap[0].password == "imap-pw"
    assert settings.imap[0].poll_interval == timedelta(seconds=60)
    assert settings.smtp[0].max_message_size == 25 * 1024 * 1024
    assert settings.outgoing.password == "smtp-pw"
    assert settings.queues[0].aliases == ("help@acme.example",)
    assert settings.metrics.listen == ("127.0.0.1", 9464)
    assert settings.api.tokens[0].token == EXAMPLE_ENV["MAILTICKETS_API_DASHBOARD"]
    assert settings.templates.dir == tmp_path
    assert settings.outgoing.give_up_after == timedelta(days=2)


def test_a_missing_template_directory_is_named() -> None:
    text = '[[queue]]\naddress = "s@a.example"\n[templates]\ndir = "/nonexistent/tpl"\n'
    assert _problems(text) == ["[templates] dir: /nonexistent/tpl is not a directory (site.toml)"]


def test_embedded_default_needs_no_file_and_no_secret() -> None:
    settings, _ = parse_settings(EMBEDDED_DEFAULT, "the embedded default", None, {})
    assert settings.database.url == "sqlite:///var/mailtickets.db"
    assert [q.address for q in settings.queues] == ["support@localhost"]
    assert [(s.host, s.port) for s in settings.smtp] == [("127.0.0.1", 2525)]
    assert settings.outgoing.host is None
    assert settings.outgoing.maildir == Path("var/outbox")
    assert settings.tickets.secret is None  # generated under var/ by the app


def test_wrong_type_names_the_table_key_value_and_file() -> None:
    text = '[[queue]]\naddress = "s@a.example"\n[[imap]]\nname = "support"\nhost = "h"\n'
    text += 'username = "u"\npassword_env = "PW"\nport = 99999\n'
    problems = _problems(text, {"PW": "x"})
    assert problems == ["[imap.support] port: must be an integer 1-65535, got 99999 (site.toml)"]


def test_all_problems_are_reported_at_once() -> None:
    text = """
[database]
uri = "sqlite:///x.db"
[[queue]]
address = "not-an-address"
locale = "fr"
[[smtp]]
protocol = "pop3"
max_message_size = "huge"
"""
    problems = _problems(text)
    assert problems == [
        "[queue.not-an-address] address: must be a mail address such as support@example.com, "
        'got "not-an-address" (site.toml)',
        '[queue.not-an-address] locale: must be one of "en", "pt_BR", got "fr" (site.toml)',
        "[database] uri: unknown key (site.toml)",
        '[smtp.1] protocol: must be one of "smtp", "lmtp", got "pop3" (site.toml)',
        '[smtp.1] max_message_size: must be a size in bytes such as 1048576 or "25MiB", '
        'got "huge" (site.toml)',
    ]


def test_collision_check_settings_are_checked() -> None:
    text = '[[queue]]\naddress = "s@a.example"\n[tickets]\nheld_reply_expiry = "0s"\n'
    text += '[notifications]\nanswered = "everyone"\n'
    assert _problems(text) == [
        '[tickets] held_reply_expiry: must be a duration longer than zero, got "0s" (site.toml)',
        '[notifications] answered: must be one of "none", "others", "all", got "everyone" '
        "(site.toml)",
    ]


def test_unknown_top_level_section_is_an_error() -> None:
    problems = _problems('[[queue]]\naddress = "s@a.example"\n[tikets]\nsubject_prefix = "X"\n')
    assert problems == ["tikets: unknown key (site.toml)"]


def test_missing_secret_variable_is_named() -> None:
    text = '[tickets]\nsecret_env = "HELPDESK_KEY"\n[[queue]]\naddress = "s@a.example"\n'
    assert _problems(text) == [
        "[tickets] secret_env: environment variable HELPDESK_KEY is not set (site.toml)"
    ]


@pytest.mark.parametrize(
    ("secret", "weakness"),
    [
        ("abc", "is too short (3 characters, at least 32 are needed)"),
        ("correct horse battery staple", "is too short (28 characters, at least 32 are needed)"),
        ("ab" * 20, "has too few different characters (2, at least 10 are needed)"),
        ("0123456780" * 4, "has too few different characters (9, at least 10 are needed)"),
    ],
)
def test_a_weak_secret_is_refused_naming_its_variable(secret: str, weakness: str) -> None:
    text = '[tickets]\nsecret_env = "HELPDESK_KEY"\n[[queue]]\naddress = "s@a.example"\n'
    assert _problems(text, {"HELPDESK_KEY": secret}) == [
        f"[tickets] secret_env: environment variable HELPDESK_KEY {weakness}; make one with "
        "`mailtickets secret new` (site.toml)"
    ]


def test_missing_password_variable_is_named() -> None:
    text = '[[queue]]\naddress = "s@a.example"\n[outgoing]\nhost = "relay"\n'
    text += 'password_env = "RELAY_PW"\n'
    assert _problems(text) == [
        "[outgoing] password_env: environment variable RELAY_PW is not set (site.toml)"
    ]


def test_references_between_sections_are_checked() -> None:
    text = '[[queue]]\naddress = "s@a.example"\nsla = "gold"\n'
    text += '[[agent]]\naddress = "a@a.example"\nname = "A"\nqueues = ["sales"]\n'
    assert _problems(text) == [
        '[queue.s@a.example] sla: no [[sla]] is named "gold" (site.toml)',
        '[agent.a@a.example] queues: no [[queue]] "sales" (site.toml)',
    ]


def test_every_cross_section_check_names_its_problems_in_a_fixed_order() -> None:
    text = """
[database]
url = "postgresql://db.example/mailtickets"
[[queue]]
address = "s@a.example"
name = "Sales"
aliases = ["S@A.example", "h@a.example"]
[[queue]]
address = "h@a.example"
[[imap]]
name = "m"
host = "imap.example"
username = "u"
password_env = "PW"
queue = "nope@a.example"
[[imap]]
name = "m"
host = "imap.example"
username = "u"
password_env = "PW"
queue = "S@A.EXAMPLE"
[[agent]]
address = "a@a.example"
name = "A"
queues = ["sales", "Sales", "H@A.example"]
"""
    assert _problems(text, {"PW": "x"}) == [
        "[tickets] secret_env: environment variable MAILTICKETS_SECRET must be set with a "
        "shared database (site.toml)",
        "[queue] address: h@a.example is used by more than one queue (site.toml)",
        "[queue] address: s@a.example is used by more than one queue (site.toml)",
        "[imap.m] queue: nope@a.example is not a [[queue]] address (site.toml)",
        '[agent.a@a.example] queues: no [[queue]] "sales" (site.toml)',
        '[imap] name: "m" is used by more than one mailbox (site.toml)',
    ]


def test_a_config_without_queue_is_refused() -> None:
    assert _problems('[tickets]\nsubject_prefix = "X"\n') == [
        "queue: at least one [[queue]] is required (site.toml)"
    ]


def test_invalid_toml_reports_the_line() -> None:
    (problem,) = _problems('[[queue]]\naddress = "s@a.example"\nname = \n')
    assert problem.startswith("site.toml: invalid TOML: ")
    assert "line 3" in problem


def test_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, environ={})
    assert caught.value.problems == (
        f"{missing}: cannot read the config file: No such file or directory",
    )


def test_env_file_beside_the_config_provides_secrets(tmp_path: Path) -> None:
    config = tmp_path / "mailtickets.toml"
    config.write_text('[tickets]\nsecret_env = "KEY"\n[[queue]]\naddress = "s@a.example"\n')
    from_dotenv, real = f"{SECRET}-from-dotenv", f"{SECRET}-real"
    (tmp_path / ".env").write_text(f"KEY={from_dotenv}\n")
    assert load_settings(config, environ={}).tickets.secret == from_dotenv.encode()
    # The real environment wins over the file.
    assert load_settings(config, environ={"KEY": real}).tickets.secret == real.encode()


def test_search_order_prefers_the_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[tickets]\nsubject_prefix = "ENV"\n[[queue]]\naddress = "s@a.example"\n')
    settings = load_settings(environ={"MAILTICKETS_CONFIG": str(config)})
    assert settings.source == config
    assert settings.tickets.subject_prefix == "ENV"


@pytest.mark.parametrize(
    ("text", "expected_exit", "expected_line"),
    [
        ('[[queue]]\naddress = "s@a.example"\n', 0, "ok (1 queue(s)"),
        (
            '[[queue]]\naddress = "s@a.example"\nport = 1\n',
            2,
            "[queue.s@a.example] port: unknown key",
        ),
    ],
)
def test_check_config_command(
    tmp_path: Path, text: str, expected_exit: int, expected_line: str
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["--config", str(config), "check-config"])
    assert result.exit_code == expected_exit
    assert expected_line in result.output
    assert "Traceback" not in result.output


def test_sla_priority_overrides_keep_the_budgets_they_do_not_name() -> None:
    text = (
        '[[queue]]\naddress = "s@a.example"\nsla = "std"\n'
        '[[sla]]\nname = "std"\nfirst_response = "4h"\nresolution = "2d"\n'
        '[sla.priority.urgent]\nfirst_response = "30m"\n'
    )
    settings, _ = parse_settings(text, "site.toml", None, {})
    (policy,) = settings.slas
    assert policy.times.first_response == timedelta(hours=4)
    urgent = policy.priorities["urgent"]
    assert (urgent.first_response, urgent.resolution) == (timedelta(minutes=30), timedelta(days=2))


def test_calendar_mistakes_are_named() -> None:
    text = (
        '[[queue]]\naddress = "s@a.example"\n'
        '[[sla]]\nname = "std"\ncalendar = "office"\n'
        '[[calendar]]\nname = "night"\ntimezone = "Mars/Olympus"\n'
        'hours = { "mon-fri" = "22:00-06:00" }\n'
    )
    problems = _problems(text)
    assert problems[0] == (
        '[calendar.night] timezone: must be a time zone such as "America/Sao_Paulo", '
        'got "Mars/Olympus" (site.toml)'
    )
    assert problems[1].startswith("[calendar.night] hours: ")
    assert "midnight" in problems[1]
    assert problems[2] == '[sla.std] calendar: no [[calendar]] is named "office" (site.toml)'


def test_team_keys_are_checked_naming_the_key_and_file() -> None:
    problems = _problems(
        '[[queue]]\naddress = "support@example.com"\nassign = "random"\nnotify_new = "me"\n'
        '[[agent]]\naddress = "ana@example.com"\nname = "Ana"\ndigest = "daily"\n'
    )
    assert problems == [
        '[queue.support@example.com] assign: must be one of "none", "round_robin", '
        '"least_open", got "random" (site.toml)',
        '[queue.support@example.com] notify_new: must be one of "assignee", "all", got "me" '
        "(site.toml)",
        '[agent] digest: ana@example.com: "daily" needs [scheduler] digest_at, the hour '
        "(site.toml)",
    ]


def test_smtp_fairness_limits_are_checked_by_name() -> None:
    text = '[[queue]]\naddress = "s@a.example"\n[[smtp]]\nmax_connections_per_client = 0\n'
    text += (
        'greeting_timeout = "soon"\nmax_line_length = 80\n[notifications]\nflood_threshold = 0\n'
    )
    assert _problems(text) == [
        "[smtp.1] max_connections_per_client: must be an integer 1-100000, got 0 (site.toml)",
        '[smtp.1] greeting_timeout: must be a duration such as "30s", "15m", "4h" or "2d", '
        'got "soon" (site.toml)',
        "[smtp.1] max_line_length: must be a size from 1000 bytes to 16MiB, got 80 (site.toml)",
        "[notifications] flood_threshold: must be an integer 1-100000, got 0 (site.toml)",
    ]


def test_an_lmtp_listener_has_no_per_client_limit() -> None:
    base = '[[queue]]\naddress = "s@a.example"\n[[smtp]]\nprotocol = "lmtp"\nmax_connections = 40\n'
    settings, _ = parse_settings(base, "site.toml", Path("site.toml"), {})
    # Its one client is the MTA in front: its share is the whole listener.
    assert settings.smtp[0].max_connections_per_client == 40
    assert _problems(base + "max_connections_per_client = 5\n") == [
        '[smtp.1] max_connections_per_client: is not used with protocol = "lmtp": its one client '
        "is the MTA in front (site.toml)"
    ]
