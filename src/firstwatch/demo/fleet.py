"""The demo's agents: ordinary document-processing code, instrumented with the firstwatch SDK.

- `contract-extractor` classifies a contract, extracts its fields with a language model,
  normalises the date and amount, loads the customer's CRM record, looks the counterparty up in a
  company registry, and saves the record with the contract added (read, modify, write: no lock).
- `invoice-agent` does the same for invoices, on the same CRM records.
- `nda-screener` checks NDAs against the legal team's policy, on its own model key; it behaves
  the same in staging and production, a control for false alarms.

They use the SDK the way a user would: `firstwatch.run`, steps, outputs, checks, resource
accesses, and httpx calls that the SDK records on its own, retries after 429 included.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx

import firstwatch
from firstwatch import semconv
from firstwatch.demo.world import (
    DOCS_KEY,
    LARGE_MODEL,
    LEGAL_KEY,
    REGISTRY_TIMEOUT_S,
    SMALL_MODEL,
)

RunHook = Callable[[firstwatch.Run], None]
Scope = firstwatch.Run | firstwatch.Step
MAX_ATTEMPTS: Final = 12
MODEL_TIMEOUT_S: Final = 60.0
CRM_TIMEOUT_S: Final = 30.0
KNOWN_CURRENCIES: Final = frozenset({"USD", "EUR", "GBP", "RUB", "CNY", "JPY", "CHF"})
APPROVED_LAWS: Final = frozenset({"New York", "Delaware", "England and Wales", "California"})
LLM: Final = "llm-api"
REGISTRY: Final = "company-registry"
CRM: Final = "crm"


@dataclass(frozen=True)
class Services:
    """Where the agents' services are, and how long the agents wait for them.

    `patience` turns a wait in simulated seconds into the real seconds to wait now.
    """

    base_url: str
    patience: Callable[[float], float]


class Agent:
    """What the agents share: identity, an HTTP client, and calls to the model, registry, CRM."""

    name = ""
    version = ""
    doc_type = ""
    model = SMALL_MODEL
    key = DOCS_KEY
    registry_step: str | None = None

    def __init__(self, services: Services) -> None:
        self.services = services
        self.client = httpx.Client(
            base_url=services.base_url,
            headers={"Authorization": f"Bearer {self.key}"},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=512),
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def process(self, document: Path, on_run: RunHook | None = None) -> dict[str, Any]:
        """Process one document as one run.

        Args:
            document: The input file.
            on_run: Called with the run as soon as it starts (the demo notes its ids).

        Returns:
            What the agent produced.
        """
        raise NotImplementedError

    @contextmanager
    def start_run(self, document: Path, on_run: RunHook | None) -> Iterator[firstwatch.Run]:
        """Open the run for one document and hand it to `on_run`."""
        with firstwatch.run(
            self.name, version=self.version, input=document, filename=document.name
        ) as run:
            if on_run is not None:
                on_run(run)
            yield run

    def classify(self, run: firstwatch.Run, document: bytes) -> None:
        """The first step of every run: the model names the document's type and language."""
        with run.step("classify") as step:
            kind = self.ask_model(step, "classify", document)
            step.output(document_type=kind["document_type"], language=kind["language"])

    def ask_model(self, parent: Scope, task: str, document: bytes) -> dict[str, Any]:
        """Call the model API; on 429, wait as long as it says (Retry-After), then again."""
        attributes = {
            semconv.DEPENDENCY: LLM,
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_REQUEST_MODEL: self.model,
        }
        payload = {"model": self.model, "document": base64.b64encode(document).decode()}
        with parent.step(f"{task} {self.model}", kind="llm", attributes=attributes) as call:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                response = self.client.post(
                    f"/llm/v1/{task}",
                    json=payload,
                    timeout=self.services.patience(MODEL_TIMEOUT_S),
                )
                if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                response.raise_for_status()
                answer: dict[str, Any] = response.json()
                call.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, str(answer["model"]))
                call.set_attribute(
                    semconv.GEN_AI_USAGE_INPUT_TOKENS, answer["usage"]["input_tokens"]
                )
                call.set_attribute(
                    semconv.GEN_AI_USAGE_OUTPUT_TOKENS, answer["usage"]["output_tokens"]
                )
                output: dict[str, Any] = answer["output"]
                return output
        raise RuntimeError("unreachable")

    def lookup_company(self, parent: Scope, name: str) -> str:
        """The company's id in the registry (which can be slow, and time out)."""
        with parent.step("registry search", kind="tool", attributes={semconv.DEPENDENCY: REGISTRY}):
            response = self.client.get(
                "/registry/v1/companies",
                params={"name": name},
                timeout=self.services.patience(REGISTRY_TIMEOUT_S),
            )
            response.raise_for_status()
            return str(response.json()["registry_id"])

    def load_account(self, parent: Scope, account: str) -> dict[str, Any]:
        """The customer's CRM record, read to be changed and saved later (no lock taken)."""
        with parent.resource(f"crm:{account}", "read"):
            response = self.client.get(
                f"/crm/v1/accounts/{account}", timeout=self.services.patience(CRM_TIMEOUT_S)
            )
            response.raise_for_status()
            record: dict[str, Any] = response.json()
            return record

    def save_account(self, parent: Scope, account: str, record: dict[str, Any]) -> int:
        """Write the whole record back, as most CRM integrations do: the last write wins."""
        with parent.resource(f"crm:{account}", "write"):
            response = self.client.put(
                f"/crm/v1/accounts/{account}",
                json=record,
                timeout=self.services.patience(CRM_TIMEOUT_S),
            )
            response.raise_for_status()
            return int(response.json()["version"])


class CrmAgent(Agent):
    """An agent that files documents in the customer's CRM record.

    A run classifies the document, extracts its fields, normalises its date and amount, loads the
    CRM record, looks one party up in the registry, and saves the record with the document added.
    Each agent says what it calls the fields, what it adds to the record, what it returns and
    what it checks.
    """

    names: ClassVar[Mapping[str, str]] = {}
    """The extracted fields that the extract step outputs, each by the agent's name for it."""
    registry_step = ""
    party = ""
    """The extracted field naming the party looked up in the registry."""
    party_id = ""
    """The registry step's output: the party's id."""

    def process(self, document: Path, on_run: RunHook | None = None) -> dict[str, Any]:
        """Process one document as one run (see `Agent.process`)."""
        data = document.read_bytes()
        crm = {semconv.DEPENDENCY: CRM}
        with self.start_run(document, on_run) as run:
            self.classify(run, data)
            with run.step("extract") as step:
                fields = self.ask_model(step, "extract", data)
                step.output(**{name: fields[field] for field, name in self.names.items()})
            with run.step("normalise") as step:
                date = dt.date.fromisoformat(fields["date"])
                amount = Decimal(fields["amount"])
                step.output(
                    **{self.names["date"]: date.isoformat(), self.names["amount"]: f"{amount:.2f}"}
                )
            with run.step("load_account", attributes=crm) as step:
                account = self.load_account(step, fields["account"])
            with run.step(self.registry_step) as step:
                party = fields[self.party]
                party_id = self.lookup_company(step, party)
                step.output(**{self.party_id: party_id})
            with run.step("save_account", attributes=crm) as step:
                self.add_to_account(account, fields, amount)
                account.setdefault("registry", {})[party] = party_id
                step.output(crm_version=self.save_account(step, fields["account"], account))
            result = self.result(fields, date, amount)
            run.output(result)
            self.check(run, fields, date, amount)
        return result

    def add_to_account(
        self, account: dict[str, Any], fields: dict[str, Any], amount: Decimal
    ) -> None:
        """Add the document to the customer's CRM record."""
        raise NotImplementedError

    def result(self, fields: dict[str, Any], date: dt.date, amount: Decimal) -> dict[str, Any]:
        """What the run produces."""
        raise NotImplementedError

    def check(
        self, run: firstwatch.Run, fields: dict[str, Any], date: dt.date, amount: Decimal
    ) -> None:
        """The run's output checks."""
        raise NotImplementedError


class ContractExtractor(CrmAgent):
    """Contracts in, CRM records updated with their parties, date and value."""

    name = "contract-extractor"
    version = "1.4.0"
    doc_type = "contract"
    model = LARGE_MODEL
    names: ClassVar[Mapping[str, str]] = {
        "date": "effective_date",
        "amount": "amount",
        "currency": "currency",
        "party_a": "party_a",
        "party_b": "party_b",
    }
    registry_step = "lookup_counterparty"
    party = "party_b"
    party_id = "registry_id"

    def add_to_account(
        self, account: dict[str, Any], fields: dict[str, Any], amount: Decimal
    ) -> None:
        """The contract joins the account's contracts, its amount the account's value."""
        account["contracts"].append(fields["reference"])
        account["value"] = str(Decimal(account["value"]) + amount)

    def result(self, fields: dict[str, Any], date: dt.date, amount: Decimal) -> dict[str, Any]:
        """The parties, date, amount and currency."""
        return {
            "party_a": fields["party_a"],
            "party_b": fields["party_b"],
            "effective_date": date.isoformat(),
            "amount": f"{amount:.2f}",
            "currency": fields["currency"],
        }

    def check(
        self, run: firstwatch.Run, fields: dict[str, Any], date: dt.date, amount: Decimal
    ) -> None:
        """Two distinct parties, a positive amount, a plausible date, a known currency."""
        run.check(
            "has_parties",
            fields["party_a"] and fields["party_b"] and fields["party_a"] != fields["party_b"],
            reason="two distinct parties",
        )
        run.check("amount_positive", amount > 0, reason=f"amount {amount}")
        run.check("date_plausible", 2000 <= date.year <= 2035, reason=str(date))
        run.check("currency_known", fields["currency"] in KNOWN_CURRENCIES)


class InvoiceAgent(CrmAgent):
    """Invoices in, open invoices added to the customer's CRM record."""

    name = "invoice-agent"
    version = "2.1.0"
    doc_type = "invoice"
    names: ClassVar[Mapping[str, str]] = {
        "date": "invoice_date",
        "amount": "total",
        "currency": "currency",
        "party_a": "vendor",
    }
    registry_step = "lookup_vendor"
    party = "party_a"
    party_id = "vendor_id"

    def add_to_account(
        self, account: dict[str, Any], fields: dict[str, Any], amount: Decimal
    ) -> None:
        """The invoice joins the account's open invoices."""
        account["invoices"].append(fields["reference"])

    def result(self, fields: dict[str, Any], date: dt.date, amount: Decimal) -> dict[str, Any]:
        """The number, vendor, date, total and currency."""
        return {
            "invoice_number": fields["reference"],
            "vendor": fields["party_a"],
            "invoice_date": date.isoformat(),
            "total": f"{amount:.2f}",
            "currency": fields["currency"],
        }

    def check(
        self, run: firstwatch.Run, fields: dict[str, Any], date: dt.date, amount: Decimal
    ) -> None:
        """A positive total, a known currency."""
        run.check("total_positive", amount > 0, reason=f"total {amount}")
        run.check("currency_known", fields["currency"] in KNOWN_CURRENCIES)


class NdaScreener(Agent):
    """NDAs in, a policy verdict out; its own model key, no registry, no CRM."""

    name = "nda-screener"
    version = "1.0.3"
    doc_type = "nda"
    key = LEGAL_KEY

    def process(self, document: Path, on_run: RunHook | None = None) -> dict[str, Any]:
        """Screen one NDA as one run (see `Agent.process`)."""
        data = document.read_bytes()
        with self.start_run(document, on_run) as run:
            self.classify(run, data)
            with run.step("screen") as step:
                terms = self.ask_model(step, "screen", data)
                step.output(term_months=int(terms["term"]), governing_law=terms["law"])
            with run.step("apply_policy") as step:
                term = int(terms["term"])
                standard = term <= 36 and terms["law"] in APPROVED_LAWS
                step.output(standard=standard)
            result = {"term_months": term, "governing_law": terms["law"], "standard": standard}
            run.output(result)
            run.check("term_known", term > 0, reason=f"{term} months")
        return result


AGENTS: Final[tuple[type[Agent], ...]] = (ContractExtractor, InvoiceAgent, NdaScreener)
