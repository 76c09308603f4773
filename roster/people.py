"""People on the roster: lookups, and the coordinators' CSV spreadsheet in and out."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlmodel import Session, select

from roster.models import (
    Employment,
    MetaTeamConsent,
    Person,
    PersonSkill,
    PracticeStage,
    Role,
    Team,
    TeamMembership,
)
from roster.phones import PhoneError, normalise_phone

CSV_COLUMNS = [
    "name",
    "phone",
    "email",
    "role",
    "employment",
    "practice_stage",
    "stage_date",
    "teams",
    "skills",
    "line_manager",
    "active",
    "sms_opt_out",
    "consult_per_week",
    "consult_hours",
]
REQUIRED_COLUMNS = ["name", "phone", "role"]
LIST_SEPARATOR = ";"
TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0", ""}


class PersonNotFound(LookupError):
    """No person, or more than one, matches what was typed."""


def find_person(session: Session, text: str) -> Person:
    """The one person whose name, first name or phone matches ``text`` (case-insensitive)."""
    wanted = text.strip().casefold()
    people = list(session.exec(select(Person).order_by(Person.name)))
    try:
        phone = normalise_phone(text)
    except PhoneError:
        phone = None
    for matcher in (
        lambda p: p.phone == phone,
        lambda p: p.name.casefold() == wanted,
        lambda p: p.first_name.casefold() == wanted,
        lambda p: wanted in p.name.casefold(),
    ):
        matches = [p for p in people if matcher(p)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches[:6])
            raise PersonNotFound(f"'{text}' matches more than one person ({names}); give the full name or phone")
    raise PersonNotFound(f"nobody on the roster is called '{text}' (see 'diveboat people list')")


def teams_of(session: Session) -> dict[int, list[str]]:
    """Team names for each person id."""
    rows = session.exec(select(TeamMembership.person_id, Team.name).join(Team).order_by(Team.name))
    grouped: dict[int, list[str]] = {}
    for person_id, name in rows:
        grouped.setdefault(person_id, []).append(name)
    return grouped


def skills_of(session: Session) -> dict[int, list[str]]:
    """Skills for each person id."""
    grouped: dict[int, list[str]] = {}
    for row in session.exec(select(PersonSkill).order_by(PersonSkill.skill)):
        grouped.setdefault(row.person_id, []).append(row.skill)
    return grouped


def person_records(session: Session) -> list[dict]:
    """Everyone as plain dicts with the CSV's field names (used by export and ``--json``)."""
    people = list(session.exec(select(Person).order_by(Person.name)))
    by_id = {p.id: p for p in people}
    teams, skills = teams_of(session), skills_of(session)
    consents = {c.person_id: c for c in session.exec(select(MetaTeamConsent))}
    records = []
    for person in people:
        consent = consents.get(person.id)
        manager = by_id.get(person.line_manager_id)
        records.append(
            {
                "name": person.name,
                "phone": person.phone,
                "email": person.email or "",
                "role": person.role,
                "employment": person.employment,
                "practice_stage": person.practice_stage,
                "stage_date": person.stage_date.isoformat() if person.stage_date else "",
                "teams": teams.get(person.id, []),
                "skills": skills.get(person.id, []),
                "line_manager": manager.name if manager else "",
                "active": person.active,
                "sms_opt_out": person.sms_opt_out,
                "consult_per_week": consent.max_per_week if consent else None,
                "consult_hours": (
                    f"{consent.contact_from:%H:%M}-{consent.contact_until:%H:%M}" if consent else ""
                ),
            }
        )
    return records


def export_csv(session: Session) -> str:
    """The roster as CSV text with a header row of :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in person_records(session):
        row = dict(record)
        row["teams"] = LIST_SEPARATOR.join(record["teams"])
        row["skills"] = LIST_SEPARATOR.join(record["skills"])
        row["active"] = "yes" if record["active"] else "no"
        row["sms_opt_out"] = "yes" if record["sms_opt_out"] else "no"
        row["consult_per_week"] = "" if record["consult_per_week"] is None else record["consult_per_week"]
        writer.writerow(row)
    return buffer.getvalue()


@dataclass
class PersonRow:
    """One validated CSV row, ready to write."""

    line: int
    name: str
    phone: str
    email: str | None
    role: Role
    employment: Employment
    practice_stage: PracticeStage
    stage_date: date | None
    teams: list[str]
    skills: list[str]
    line_manager: str
    active: bool
    sms_opt_out: bool
    consult_per_week: int | None
    consult_hours: tuple[time, time] | None


@dataclass
class ImportResult:
    """What an import did, or every line that stopped it."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_sheet_date(value: str) -> date:
    """An ISO date, or the UK day/month/year form Excel writes when it re-saves a CSV."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.strptime(value, "%d/%m/%Y").date()


def _choice(enum, value: str, column: str, default):
    value = value.strip().lower().replace(" ", "_").replace("-", "_")
    if not value:
        return default
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ValueError(f"{column} '{value}' is not one of {allowed}") from None


def _flag(value: str, column: str, default: bool) -> bool:
    value = (value or "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"{column} '{value}' should be yes or no")


def _hours(value: str) -> tuple[time, time] | None:
    value = value.strip()
    if not value:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"consult_hours '{value}' should look like 09:00-17:00") from None
    if end <= start:
        raise ValueError(f"consult_hours '{value}' must end after they start")
    return start, end


def _split(value: str) -> list[str]:
    return sorted({part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()})


def _parse_row(line: int, raw: dict[str, str]) -> PersonRow:
    """Validate one CSV row; raise ValueError naming every problem in it."""
    problems: list[str] = []
    get = lambda column: (raw.get(column) or "").strip()  # noqa: E731

    def attempt(func, *args, default=None):
        try:
            return func(*args)
        except ValueError as error:
            problems.append(str(error))
            return default

    name = get("name")
    if not name:
        problems.append("name is empty")
    phone = attempt(normalise_phone, get("phone"))
    role = attempt(lambda: _choice(Role, get("role"), "role", None))
    if role is None and not any(p.startswith("role") for p in problems):
        problems.append("role is empty")
    employment = attempt(lambda: _choice(Employment, get("employment"), "employment", Employment.FULL_TIME))
    stage = attempt(
        lambda: _choice(PracticeStage, get("practice_stage"), "practice_stage", PracticeStage.QUALIFIED)
    )
    stage_date = None
    if get("stage_date"):
        try:
            stage_date = parse_sheet_date(get("stage_date"))
        except ValueError:
            problems.append(f"stage_date '{get('stage_date')}' should be a date like 2027-01-04 or 04/01/2027")
    if stage in (PracticeStage.ASYE, PracticeStage.PROBATION) and stage_date is None and "stage_date" not in str(problems):
        what = "ASYE start date" if stage is PracticeStage.ASYE else "probation end date"
        problems.append(f"practice_stage {stage.value} needs stage_date (the {what})")
    active = attempt(_flag, get("active"), "active", True, default=True)
    opt_out = attempt(_flag, get("sms_opt_out"), "sms_opt_out", False, default=False)
    per_week = None
    if get("consult_per_week"):
        try:
            per_week = int(get("consult_per_week"))
            if per_week < 0:
                raise ValueError
        except ValueError:
            problems.append(f"consult_per_week '{get('consult_per_week')}' should be a whole number, 0 or more")
    hours = attempt(_hours, get("consult_hours"))
    if problems:
        raise ValueError("; ".join(problems))
    return PersonRow(
        line=line,
        name=name,
        phone=phone,
        email=get("email") or None,
        role=role,
        employment=employment,
        practice_stage=stage,
        stage_date=stage_date,
        teams=_split(get("teams")),
        skills=_split(get("skills")),
        line_manager=get("line_manager"),
        active=active,
        sms_opt_out=opt_out,
        consult_per_week=per_week,
        consult_hours=hours,
    )


def parse_csv(text: str) -> tuple[list[PersonRow], list[str]]:
    """Validate a whole CSV file; returns the rows and ``line N: what is wrong`` errors."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [f"line 1: header is missing column(s) {', '.join(missing)} (expected {', '.join(CSV_COLUMNS)})"]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)} (expected {', '.join(CSV_COLUMNS)})"]
    reader.fieldnames = header
    rows: list[PersonRow] = []
    errors: list[str] = []
    seen_phones: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        if None in raw:
            errors.append(f"line {line}: has more fields than the header")
            continue
        try:
            row = _parse_row(line, raw)
        except ValueError as error:
            errors.append(f"line {line}: {error}")
            continue
        if row.phone in seen_phones:
            errors.append(f"line {line}: phone {row.phone} is already used on line {seen_phones[row.phone]}")
            continue
        seen_phones[row.phone] = line
        rows.append(row)
    return rows, errors


def _line_number(error: str) -> int:
    """The N of a ``line N: ...`` error (0 for errors about the whole file)."""
    match = re.match(r"line (\d+):", error)
    return int(match.group(1)) if match else 0


def import_csv(session: Session, text: str) -> ImportResult:
    """Create or update people from CSV (matched by phone). Any bad row rejects the whole file."""
    rows, errors = parse_csv(text)
    result = ImportResult(errors=errors)
    existing = {p.phone: p for p in session.exec(select(Person))}
    names_in_file = {row.name.casefold() for row in rows}
    known_names = {p.name.casefold() for p in existing.values()} | names_in_file
    for row in rows:
        if row.line_manager and row.line_manager.casefold() not in known_names:
            result.errors.append(f"line {row.line}: line_manager '{row.line_manager}' is not on the roster or in the file")
    if not rows and not result.errors:
        result.errors.append("the file has no people in it (a header row, then one person per line)")
    if result.errors:
        result.errors.sort(key=_line_number)
        return result
    try:
        _write_rows(session, rows, existing, result)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result


def _write_rows(session: Session, rows: Iterable[PersonRow], existing: dict[str, Person], result: ImportResult) -> None:
    teams = {t.name: t for t in session.exec(select(Team))}
    written: list[tuple[PersonRow, Person]] = []
    for row in rows:
        person = existing.get(row.phone)
        if person is None:
            person = Person(name=row.name, phone=row.phone, role=row.role.value)
            result.created += 1
        else:
            result.updated += 1
        person.name, person.email, person.role = row.name, row.email, row.role.value
        person.employment, person.practice_stage = row.employment.value, row.practice_stage.value
        person.stage_date, person.active, person.sms_opt_out = row.stage_date, row.active, row.sms_opt_out
        session.add(person)
        written.append((row, person))
    session.flush()
    by_name = {p.name.casefold(): p for p in session.exec(select(Person))}
    for row, person in written:
        manager = by_name.get(row.line_manager.casefold()) if row.line_manager else None
        person.line_manager_id = manager.id if manager else None
        _replace_links(session, person, row, teams)


def _replace_links(session: Session, person: Person, row: PersonRow, teams: dict[str, Team]) -> None:
    for link in session.exec(select(TeamMembership).where(TeamMembership.person_id == person.id)):
        session.delete(link)
    for link in session.exec(select(PersonSkill).where(PersonSkill.person_id == person.id)):
        session.delete(link)
    session.flush()
    for team_name in row.teams:
        if team_name not in teams:
            teams[team_name] = Team(name=team_name)
            session.add(teams[team_name])
            session.flush()
        session.add(TeamMembership(team_id=teams[team_name].id, person_id=person.id))
    for skill in row.skills:
        session.add(PersonSkill(person_id=person.id, skill=skill))
    consent = session.get(MetaTeamConsent, person.id)
    if row.consult_per_week is None and row.consult_hours is None:
        if consent is not None:
            session.delete(consent)
        return
    consent = consent or MetaTeamConsent(person_id=person.id)
    if row.consult_per_week is not None:
        consent.max_per_week = row.consult_per_week
    if row.consult_hours is not None:
        consent.contact_from, consent.contact_until = row.consult_hours
    session.add(consent)
