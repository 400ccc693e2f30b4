"""A refusal that names what it refused (``N_(message, **values)``): English with the values in it
wherever it is a plain string (the API, logs), the whole sentence in the reader's language on a page,
and the same after a trip through a job's pickle."""

from __future__ import annotations

import json
import pickle

from saas.billing.entitlements import READ_ONLY_REFUSAL
from saas.billing.labels import READ_ONLY_REASONS
from saas.i18n import N_, FilledMessage, in_locale, translate


def test_a_filled_message_is_english_as_a_string_and_translated_whole_on_a_page(app):
    refusal = N_("Macro %(name)s saved.", name="Greeting 100%")

    assert isinstance(refusal, FilledMessage)
    assert refusal == "Macro Greeting 100% saved."
    assert json.dumps({"detail": refusal}) == '{"detail": "Macro Greeting 100% saved."}'
    with app.test_request_context(), in_locale("de"):
        assert translate(refusal) == "Makro Greeting 100% gespeichert."
        unpickled = pickle.loads(pickle.dumps(refusal))  # noqa: S301 (our own bytes)
        assert translate(unpickled) == "Makro Greeting 100% gespeichert."
    with app.test_request_context(), in_locale("en"):
        assert translate(refusal) == "Macro Greeting 100% saved."


def test_a_message_without_values_stays_a_plain_marked_string(app):
    assert type(N_("Unknown field.")) is str
    with app.test_request_context(), in_locale("de"):
        assert translate(N_("Unknown field.")) != "Unknown field."


def test_a_value_that_is_a_product_word_is_shown_in_the_readers_language_too(app):
    refusal = N_("The %(module)s module is always on.", module=N_("Files"), translated=("module",))
    as_written = N_("The %(module)s module is always on.", module="Files")

    assert refusal == as_written == "The Files module is always on."
    with app.test_request_context(), in_locale("de"):
        assert translate(refusal) == "Das Modul Dateien ist immer aktiv."
        assert translate(as_written) == "Das Modul Files ist immer aktiv."  # a name the workspace gave


def test_the_read_only_refusal_reads_as_one_german_sentence_with_its_reason_in_german(app):
    refusal = N_(READ_ONLY_REFUSAL, reason=READ_ONLY_REASONS["unpaid"], translated=("reason",))

    assert refusal.startswith("This workspace is read-only because invoices remain unpaid. You can still")
    with app.test_request_context(), in_locale("de"):
        assert translate(refusal).startswith(
            "Dieser Arbeitsbereich ist schreibgeschützt, weil Rechnungen unbezahlt sind. Sie können sich"
        )
