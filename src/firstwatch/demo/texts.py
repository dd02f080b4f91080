"""The words of the demo's documents: contracts, invoices and NDAs, in the languages users send.

Each template is a list of pages, each page a list of paragraphs with `{placeholders}` for the
fields; dates and amounts are written the way each language writes them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

COMPANIES: Final = (
    "Acme Industrial",
    "Globex Logistics",
    "Initech Software",
    "Umbrella Health",
    "Stark Components",
    "Wayne Shipping",
    "Hooli Cloud",
    "Vandelay Imports",
    "Tyrell Robotics",
    "Cyberdyne Systems",
    "Aperture Labs",
    "Oscorp Materials",
    "Soylent Foods",
    "Wonka Confectionery",
    "Massive Dynamic",
    "Gringotts Finance",
    "Monarch Travel",
    "Nakatomi Trading",
    "Pied Piper Data",
    "Blue Sun Energy",
)
SUFFIXES: Final = {
    "en": ("Inc.", "Ltd", "LLC", "plc"),
    "de": ("GmbH", "AG", "KG"),
    "fr": ("SA", "SARL", "SAS"),
    "es": ("S.A.", "S.L."),
    "ru": ("ООО", "АО"),
    "zh": ("有限公司",),
    "ja": ("株式会社",),
}
CURRENCIES: Final = {
    "en": "USD",
    "de": "EUR",
    "fr": "EUR",
    "es": "EUR",
    "ru": "RUB",
    "zh": "CNY",
    "ja": "JPY",
}
LAWS: Final = ("New York", "Delaware", "England and Wales", "California", "Ontario")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MONTHS: Final = {
    "en": _words(
        "January February March April May June July August September October November December"
    ),
    "de": _words(
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
    ),
    "fr": _words(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    ),
    "es": _words(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ),
    "ru": _words(
        "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"
    ),
}


def company(index: int, language: str) -> str:
    """A company name as it is written in a document of `language`."""
    base = COMPANIES[index % len(COMPANIES)]
    suffixes = SUFFIXES[language]
    suffix = suffixes[index // len(COMPANIES) % len(suffixes)]
    return f"{suffix} «{base}»" if language == "ru" else f"{base} {suffix}"


def written_date(day: dt.date, language: str) -> str:
    """A date as a person writes it in `language` (March 1, 2024; 1. März 2024; 2024年3月1日)."""
    if language in ("zh", "ja"):
        return f"{day.year}年{day.month}月{day.day}日"
    month = _MONTHS[language][day.month - 1]
    return {
        "en": f"{month} {day.day}, {day.year}",
        "de": f"{day.day}. {month} {day.year}",
        "fr": f"{day.day} {month} {day.year}",
        "es": f"{day.day} de {month} de {day.year}",
        "ru": f"{day.day} {month} {day.year} г.",
    }[language]


def written_amount(amount: Decimal, language: str) -> str:
    """An amount with the separators of `language` (12,400.00; 12.400,00; 12 400,00)."""
    english = f"{amount:,.2f}"
    if language in ("en", "zh", "ja"):
        return english
    if language in ("de", "es"):
        return english.replace(",", "_").replace(".", ",").replace("_", ".")
    return english.replace(",", " ").replace(".", ",")


_CLAUSES_EN: Final = [
    "1. Confidentiality. Each party shall keep the other party's confidential information secret "
    "and use it only to perform this Agreement.",
    "2. Liability. Neither party is liable for indirect or consequential loss. Each party's total "
    "liability is limited to the fees paid in the twelve months before the claim.",
    "3. Termination. Either party may terminate this Agreement on ninety days' written notice. "
    "Fees for services delivered before termination remain payable.",
    "4. Notices. Notices must be in writing and sent to the addresses stated above.",
]

CONTRACT: Final[dict[str, list[list[str]]]] = {
    "en": [
        [
            "SERVICES AGREEMENT",
            "Contract reference {reference}. Customer number {account}.",
            'This Services Agreement (the "Agreement") is entered into on {date} by and between '
            '{party_a} ("Client") and {party_b} ("Provider").',
            "The Provider shall deliver the document processing services described in Schedule A. "
            "The Client shall pay a total fee of {currency} {amount} within thirty (30) days of "
            "each invoice.",
            "This Agreement takes effect on {date} and continues for twelve (12) months. It is "
            "governed by the laws of {law}.",
        ],
        _CLAUSES_EN,
    ],
    "de": [
        [
            "DIENSTLEISTUNGSVERTRAG",
            "Vertragsnummer {reference}. Kundennummer {account}.",
            "Dieser Vertrag wird am {date} zwischen {party_a} (Auftraggeber) und {party_b} "
            "(Auftragnehmer) geschlossen.",
            "Der Auftragnehmer erbringt die in Anlage A beschriebenen Leistungen. Der Auftraggeber "
            "zahlt eine Gesamtvergütung von {amount} {currency} innerhalb von dreißig (30) Tagen "
            "nach Rechnungsstellung.",
            "Der Vertrag tritt am {date} in Kraft und läuft zwölf (12) Monate.",
        ],
        [
            "1. Vertraulichkeit. Jede Partei behandelt die vertraulichen Informationen der anderen "
            "Partei vertraulich.",
            "2. Haftung. Die Haftung ist auf die in den letzten zwölf Monaten gezahlten "
            "Vergütungen begrenzt.",
            "3. Kündigung. Jede Partei kann den Vertrag mit einer Frist von neunzig Tagen "
            "kündigen.",
        ],
    ],
    "fr": [
        [
            "CONTRAT DE PRESTATION DE SERVICES",
            "Référence du contrat {reference}. Numéro client {account}.",
            "Le présent contrat est conclu le {date} entre {party_a} (le Client) et {party_b} "
            "(le Prestataire).",
            "Le Prestataire fournit les services décrits à l'annexe A. Le Client verse une "
            "rémunération totale de {amount} {currency} dans un délai de trente (30) jours à "
            "compter de chaque facture.",
            "Le contrat prend effet le {date} pour une durée de douze (12) mois.",
        ],
        [
            "1. Confidentialité. Chaque partie garde confidentielles les informations de l'autre "
            "partie.",
            "2. Responsabilité. La responsabilité de chaque partie est limitée aux sommes versées "
            "au cours des douze derniers mois.",
            "3. Résiliation. Chaque partie peut résilier le contrat moyennant un préavis de "
            "quatre-vingt-dix jours.",
        ],
    ],
    "es": [
        [
            "CONTRATO DE PRESTACIÓN DE SERVICIOS",
            "Referencia del contrato {reference}. Número de cliente {account}.",
            "El presente contrato se celebra el {date} entre {party_a} (el Cliente) y {party_b} "
            "(el Proveedor).",
            "El Proveedor prestará los servicios descritos en el anexo A. El Cliente pagará una "
            "remuneración total de {amount} {currency} en un plazo de treinta (30) días desde "
            "cada factura.",
            "El contrato entra en vigor el {date} por un período de doce (12) meses.",
        ],
        [
            "1. Confidencialidad. Cada parte mantendrá en secreto la información confidencial de "
            "la otra parte.",
            "2. Responsabilidad. La responsabilidad de cada parte se limita a los importes pagados "
            "en los últimos doce meses.",
            "3. Resolución. Cualquiera de las partes puede resolver el contrato con un preaviso de "
            "noventa días.",
        ],
    ],
    "ru": [
        [
            "ДОГОВОР ОКАЗАНИЯ УСЛУГ",
            "Номер договора {reference}. Номер клиента {account}.",
            "Настоящий договор заключён {date} между {party_a} (Заказчик) и {party_b} "
            "(Исполнитель).",
            "Исполнитель оказывает услуги, указанные в приложении А. Заказчик выплачивает общее "
            "вознаграждение в размере {amount} {currency} в течение тридцати (30) дней с даты "
            "каждого счёта.",
            "Договор вступает в силу {date} и действует двенадцать (12) месяцев.",
        ],
        [
            "1. Конфиденциальность. Каждая сторона сохраняет в тайне конфиденциальную информацию "
            "другой стороны.",
            "2. Ответственность. Ответственность сторон ограничена суммой, выплаченной за "
            "последние двенадцать месяцев.",
            "3. Расторжение. Каждая сторона вправе расторгнуть договор, уведомив другую сторону за "
            "девяносто дней.",
        ],
    ],
    "zh": [
        [
            "服务合同",
            "合同编号 {reference}。客户编号 {account}。",
            "本服务合同由{party_a}（委托方）与{party_b}（服务方）于{date}签订。",
            "服务方应提供附件A所述的文件处理服务。委托方应在每张发票开具后三十（30）日内支付总费用"
            "{currency} {amount}。",
            "本合同自{date}起生效，有效期为十二（12）个月。",
        ],
        [
            "一、保密。双方应对另一方的保密信息予以保密，仅为履行本合同之目的使用。",
            "二、责任。任何一方的责任总额以索赔前十二个月内已支付的费用为限。",
            "三、终止。任何一方均可提前九十天书面通知终止本合同。",
        ],
    ],
    "ja": [
        [
            "業務委託契約書",
            "契約番号 {reference}。顧客番号 {account}。",
            "本契約は、{date}に{party_a}（以下「委託者」）と{party_b}（以下「受託者」）との間で"
            "締結される。",
            "受託者は別紙Aに定める文書処理業務を提供する。委託者は、各請求書の発行日から三十（30）"
            "日以内に、総額{currency} {amount}を支払うものとする。",
            "本契約は{date}に発効し、十二（12）か月間有効とする。",
        ],
        [
            "第1条（秘密保持）各当事者は、相手方の秘密情報を本契約の履行以外の目的に使用しない。",
            "第2条（責任）各当事者の責任は、請求前十二か月間に支払われた料金を上限とする。",
            "第3条（解除）各当事者は、九十日前に書面で通知することにより本契約を解除できる。",
        ],
    ],
}

INVOICE: Final[dict[str, list[list[str]]]] = {
    "en": [
        [
            "INVOICE {reference}",
            "Invoice date: {date}. Customer number {account}.",
            "From: {party_a}. Bill to: {party_b}.",
            "Document processing services, monthly subscription: {currency} {amount}.",
            "Total due: {currency} {amount}. Payment terms: thirty (30) days from the invoice "
            "date. Please quote the invoice number with your payment.",
        ]
    ],
    "de": [
        [
            "RECHNUNG {reference}",
            "Rechnungsdatum: {date}. Kundennummer {account}.",
            "Von: {party_a}. An: {party_b}.",
            "Dokumentenverarbeitung, monatliches Abonnement: {amount} {currency}.",
            "Gesamtbetrag: {amount} {currency}. Zahlbar innerhalb von dreißig (30) Tagen ab "
            "Rechnungsdatum.",
        ]
    ],
    "fr": [
        [
            "FACTURE {reference}",
            "Date de facture : {date}. Numéro client {account}.",
            "De : {party_a}. Facturé à : {party_b}.",
            "Services de traitement de documents, abonnement mensuel : {amount} {currency}.",
            "Total à payer : {amount} {currency}. Paiement à trente (30) jours date de facture.",
        ]
    ],
    "es": [
        [
            "FACTURA {reference}",
            "Fecha de factura: {date}. Número de cliente {account}.",
            "De: {party_a}. Facturar a: {party_b}.",
            "Servicios de procesamiento de documentos, suscripción mensual: {amount} {currency}.",
            "Total a pagar: {amount} {currency}. Pago a treinta (30) días desde la fecha de "
            "factura.",
        ]
    ],
}

NDA: Final[dict[str, list[list[str]]]] = {
    "en": [
        [
            "MUTUAL NON-DISCLOSURE AGREEMENT",
            "Reference {reference}.",
            "This Mutual Non-Disclosure Agreement is made on {date} between {party_a} and "
            "{party_b} (each a Party).",
            "Each Party may disclose confidential information to the other for the purpose of "
            "evaluating a possible business relationship.",
            "The obligations in this Agreement last for {term} months from {date}. This "
            "Agreement is governed by the laws of {law}.",
        ],
        [
            "1. Confidential information does not include information that is public, already "
            "known to the receiving Party, or independently developed.",
            "2. The receiving Party shall protect confidential information with at least "
            "reasonable care and return or destroy it on request.",
            "3. Nothing in this Agreement grants a licence or obliges either Party to proceed "
            "with any transaction.",
        ],
    ]
}

TEMPLATES: Final = {"contract": CONTRACT, "invoice": INVOICE, "nda": NDA}
