"""A/B tests of campaigns: arms sent to a seeded random sample, the winner chosen by open or click rate
once the wait is over and sent to the rest, and each arm's rate with its confidence for the report.

Language variants and arms are two axes: arms replace the campaign's own (default-language) content, so
only recipients without a language variant take part; those with one get their language's content at
once, as before. The rest of the default-language audience waits as ``held`` until the winner is chosen.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext
from scipy.stats import binomtest, chi2_contingency
from sqlalchemy import String, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.marketing.content import check_merge_fields, sanitise_html
from saas.modules.marketing.models import AB_METRICS, ARM_LETTERS, Campaign, CampaignABTest, CampaignRecipient

MIN_ARMS, MAX_ARMS = 2, 4
ARM_FIELDS = ("subject", "html_body", "text_body")
CONFIDENCE = 0.95
DECISION_RULE = N_(
    "The arm with the highest rate wins; on a tie the first of the tied arms (A before B), and with no "
    "opens or clicks at all, arm A."
)
"""Shown on the report next to the winner, so nobody has to guess why a tie went one way."""


@dataclass(frozen=True)
class MessageContent:
    subject: str
    html_body: str
    text_body: str


def message_content(campaign: Campaign, locale: str | None, ab_arm: int | None) -> MessageContent:
    """What one recipient is sent: their language's variant; else their test arm, or the winner once
    chosen for the rest; else the campaign's own content."""
    variant = next((v for v in campaign.variants if v.locale == locale), None) if locale else None
    if variant is not None:
        return MessageContent(variant.subject, variant.html_body, variant.text_body)
    test = campaign.ab_test
    arm = ab_arm if ab_arm is not None else (test.winner if test else None)
    if test is None or arm is None or arm >= len(test.arms):
        return MessageContent(campaign.subject, campaign.html_body, campaign.text_body)
    values = test.arms[arm]
    return MessageContent(
        *((values.get(name) or getattr(campaign, name)) for name in ARM_FIELDS)  # blank: the campaign's
    )


# --- writing a test ----------------------------------------------------------------------------------


def _number(data: dict[str, Any], name: str, low: int, high: int, errors: dict[str, list[str]]) -> int:
    value = data.get(name)
    try:
        number = None if isinstance(value, bool) else int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        errors[f"ab_test.{name}"] = [
            gettext("Give a whole number from %(low)s to %(high)s.", low=low, high=high)
        ]
        return low
    return number


def clean_ab_test(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The test as it will be stored (None: no test). Every bad part is named at once
    (``ab_test.<field>``, ``ab_test.arms.<n>``); messages in the page's language."""
    if data is None:
        return None
    errors: dict[str, list[str]] = {}
    clean = {
        "sample_percent": _number(data, "sample_percent", 1, 90, errors),
        "wait_hours": _number(data, "wait_hours", 1, 720, errors),
        "metric": data.get("metric"),
    }
    if clean["metric"] not in AB_METRICS:
        errors["ab_test.metric"] = [gettext("Choose opens or clicks.")]
    arms: list[dict[str, str]] = []
    raw_arms = data.get("arms") or []
    if not MIN_ARMS <= len(raw_arms) <= MAX_ARMS:
        errors["ab_test.arms"] = [gettext("Give two to four variants.")]
    for index, arm in enumerate(raw_arms[:MAX_ARMS]):
        key, problems = f"ab_test.arms.{index}", []
        values = {
            "subject": str(arm.get("subject") or "").strip(),
            "html_body": sanitise_html(arm.get("html_body") or ""),
            "text_body": str(arm.get("text_body") or "").replace("\r\n", "\n"),
        }
        if len(values["subject"]) > 200:
            problems.append(gettext("Give the subject (at most 200 characters)."))
        try:
            check_merge_fields(**values)
        except ValidationError as error:
            problems += [m for messages in error.errors.values() for m in messages] or [error.detail]
        if values in arms:  # two arms with the same message test nothing
            problems.append(gettext("This variant is the same as another one."))
        if problems:
            errors[key] = problems
        arms.append(values)
    if errors:
        raise ValidationError(gettext("Please correct the A/B test."), errors)
    return clean | {"arms": arms}


def apply_ab_test(campaign: Campaign, clean: dict[str, Any] | None) -> None:
    """Set, change or remove (None) the campaign's test; a kept test keeps its seed."""
    if clean is None:
        campaign.ab_test = None
        return
    test = campaign.ab_test or CampaignABTest(seed=secrets.randbits(62))
    for name, value in clean.items():
        setattr(test, name, value)
    campaign.ab_test = test


# --- sending -----------------------------------------------------------------------------------------


def draw_sample(session: Session, campaign: Campaign) -> None:
    """Split the fresh snapshot: the sample's recipients get an arm each (evenly, in a random order fixed
    by the test's seed), the rest of the default-language audience is held for the winner. One UPDATE,
    in the snapshot's transaction, so a snapshot never exists without its split."""
    test = campaign.ab_test
    if test is None:
        return
    arms = len(test.arms)
    shuffled = (
        select(
            CampaignRecipient.id,
            func.row_number()
            .over(order_by=(func.md5(literal(f"{test.seed}:") + cast(CampaignRecipient.contact_id, String))))
            .label("n"),
            func.count().over().label("size"),
        )
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.locale.is_(None))
        .subquery()
    )
    # At least one recipient per arm, when the audience has that many.
    size = func.greatest(arms, func.ceil(shuffled.c.size * test.sample_percent / 100.0))
    in_sample = shuffled.c.n <= size
    session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == shuffled.c.id)
        .values(
            ab_arm=case((in_sample, (shuffled.c.n - 1) % arms)),
            status=case((in_sample, CampaignRecipient.status), else_=literal("held")),
        )
        .execution_options(synchronize_session=False)
    )
    test.decide_at = datetime.now(UTC) + timedelta(hours=test.wait_hours)


def decide_if_due(session: TenantSession, campaign: Campaign) -> bool:
    """Choose the winner once the wait is over and release the held rest to the sender (one commit).

    Called by the campaign's sender under its lock; the conditional UPDATE makes a second decision
    impossible even so, and the released rows go through the same claim as every other recipient, so a
    killed worker or a second run sends nobody twice.
    """
    test = campaign.ab_test
    now = datetime.now(UTC)
    if test is None or test.decided_at is not None or test.decide_at is None or test.decide_at > now:
        return False
    arms = arm_standings(session, campaign)
    winner, decision = pick_winner(arms)
    decided = session.execute(
        update(CampaignABTest)
        .where(CampaignABTest.campaign_id == campaign.id, CampaignABTest.decided_at.is_(None))
        .values(winner=winner, decision=decision, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided:
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == "held")
            .values(status="queued", next_attempt_at=func.now())
            .execution_options(synchronize_session=False)
        )
    session.commit()
    session.refresh(test)
    return bool(decided)


# --- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmStanding:
    arm: str
    subject: str
    recipients: int
    sent: int
    opened: int
    clicked: int
    successes: int
    """Opens or clicks, as the test's metric says."""
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    """The Wilson score interval of the rate (95 %)."""
    p_value: float | None = None
    """Two-proportion z-test of the leader against this arm (two-sided); None for the leader itself or
    where the test is undefined (no sends, or every rate 0 or 1)."""


def arm_standings(session: Session, campaign: Campaign) -> list[ArmStanding]:
    """Each arm's sample counts and rate with its interval (one grouped query)."""
    test = campaign.ab_test
    if test is None:
        return []
    sent = CampaignRecipient.status.in_(("sent", "bounced"))
    rows = {
        arm: (recipients, delivered, opened, clicked)
        for arm, recipients, delivered, opened, clicked in session.execute(
            select(
                CampaignRecipient.ab_arm,
                func.count(),
                func.count().filter(sent),
                func.count(CampaignRecipient.opened_at).filter(sent),
                func.count(CampaignRecipient.clicked_at).filter(sent),
            )
            .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.ab_arm.is_not(None))
            .group_by(CampaignRecipient.ab_arm)
        )
    }
    standings = []
    for index in range(len(test.arms)):
        recipients, delivered, opened, clicked = rows.get(index, (0, 0, 0, 0))
        successes = opened if test.metric == "opens" else clicked
        low = high = rate = None
        if delivered:
            rate = successes / delivered
            interval = binomtest(successes, delivered).proportion_ci(CONFIDENCE, method="wilson")
            low, high = float(interval.low), float(interval.high)
        subject = message_content(campaign, None, index).subject
        standings.append(
            ArmStanding(ARM_LETTERS[index], subject, recipients, delivered, opened, clicked, successes,
                        rate, low, high)
        )  # fmt: skip
    return standings


def pick_winner(arms: list[ArmStanding]) -> tuple[int, str]:
    """The winning arm's index and why (``DECISION_RULE``)."""
    rates = [arm.rate or 0.0 for arm in arms]
    if not any(arm.successes for arm in arms):
        return 0, "no_data"
    best = max(rates)
    leaders = [index for index, rate in enumerate(rates) if rate == best]
    return leaders[0], "tie" if len(leaders) > 1 else "best_rate"


def _p_value(leader: ArmStanding, other: ArmStanding) -> float | None:
    table = [
        [leader.successes, leader.sent - leader.successes],
        [other.successes, other.sent - other.successes],
    ]
    # A row or column of zeros leaves the test undefined (scipy refuses zero expected counts).
    if 0 in (leader.sent, other.sent) or 0 in (table[0][0] + table[1][0], table[0][1] + table[1][1]):
        return None
    # Pearson's chi-square on a 2x2 table without Yates' correction is the two-proportion z-test (z² = χ²).
    return float(chi2_contingency(table, correction=False).pvalue)


@dataclass(frozen=True)
class ABTestReport:
    metric: str
    sample_percent: int
    wait_hours: int
    decide_at: datetime | None
    decided_at: datetime | None
    winner: str | None
    decision: str | None
    leader: str | None
    """The winner once chosen, else the arm the rule would choose now."""
    held: int
    """Recipients waiting for the winner."""
    rule: str
    arms: list[ArmStanding]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ab_test_report(session: Session, campaign: Campaign) -> ABTestReport | None:
    test = campaign.ab_test
    if test is None:
        return None
    arms = arm_standings(session, campaign)
    leader = test.winner if test.winner is not None else pick_winner(arms)[0]
    arms = [
        arm if index == leader else _with_p_value(arm, _p_value(arms[leader], arm))
        for index, arm in enumerate(arms)
    ]
    held = session.scalar(
        select(func.count()).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == "held"
        )
    )
    return ABTestReport(
        metric=test.metric,
        sample_percent=test.sample_percent,
        wait_hours=test.wait_hours,
        decide_at=test.decide_at,
        decided_at=test.decided_at,
        winner=ARM_LETTERS[test.winner] if test.winner is not None else None,
        decision=test.decision,
        leader=ARM_LETTERS[leader] if arms else None,
        held=held or 0,
        rule=DECISION_RULE,
        arms=arms,
    )


def _with_p_value(arm: ArmStanding, p_value: float | None) -> ArmStanding:
    return ArmStanding(**(asdict(arm) | {"p_value": p_value}))
