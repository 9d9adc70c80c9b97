"""The empty workbook, generated from the schema: ``build_template()`` and ``write_template()``.

Everything about sheets, headers, kinds, choices, widths and notes comes from
addin/workbook/schema.py; the Dashboard layout from dashboard_layout.py. Only the words for
people (the Start here page, French texts) live here. ``python -m addin.workbook.template``
regenerates workbook_template.xlsx at the repository root.

This module imports openpyxl at the top: the CLI imports it lazily.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from . import dashboard_layout as dash
from . import schema
from .schema import Column, Kind, Sheet

LANGUAGES = schema.LANGUAGES
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)  # document properties: two builds are equal
CREATOR = "Receivables"
TABLE_STYLE = "TableStyleLight9"
LAST_ROW = 1_048_576  # validations cover the whole column below the header
LISTS_SHEET = schema.LISTS  # hidden helper sheet for drop-downs longer than Excel's 255 characters
LIST_LIMIT = 255
ERROR_LIMIT = 225  # Excel's longest validation message

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"
NUMBER_FORMAT = "#,##0.00"
INT_FORMAT = "0"
FORMATS = {
    Kind.DATE: DATE_FORMAT,
    Kind.DATETIME: DATETIME_FORMAT,
    Kind.MONEY: MONEY_FORMAT,
    Kind.NUMBER: NUMBER_FORMAT,
    Kind.INT: INT_FORMAT,
}
ADDIN_FILL = PatternFill("solid", start_color="FFBFBFBF", end_color="FFBFBFBF")
ADDIN_FONT = Font(bold=True, italic=True, color="FF404040")
TITLE_FONT = Font(bold=True, size=16)
SECTION_FONT = Font(bold=True, size=12)
BOLD = Font(bold=True)

# Whole-number ranges checked by the reader, offered as validations too.
INT_RANGES = {
    (schema.REMINDERS.name, "Days"): (0, 90),
    (schema.STATEMENT_SCHEDULES.name, "Day"): (1, 31),
}

# Which list a free-text column draws its drop-down from (not a schema choice).
FIELD_LIST = (*(c.header for c in schema.CUSTOMERS.columns), *schema.COMPUTED_FIELDS)
LIST_COLUMNS = {(schema.GROUP_RULES.name, "Field"): FIELD_LIST}

ADDIN_NOTE = {"en": "Written by the add-in", "fr": "Écrit par le complément"}

WORDS = {
    "en": {
        "choose": "Choose one of: {}",
        "choose_title": "Not in the list",
        "field": "A Customers header or a computed field ({}). Other columns of yours are allowed.",
        "whole": "A whole number from {} to {}",
        "whole_title": "Out of range",
    },
    "fr": {
        "choose": "Choisissez parmi : {}",
        "choose_title": "Valeur hors liste",
        "field": "Un en-tête de Customers ou un champ calculé ({}). Vos autres colonnes sont acceptées.",
        "whole": "Un nombre entier de {} à {}",
        "whole_title": "Hors limites",
    },
}

# French for the schema's notes and the Settings descriptions (English comes from the schema).
NOTES_FR = {
    "Unique code, e.g. C-0001": "Code unique, p. ex. C-0001",
    "One or more addresses separated by ; or ,": "Une ou plusieurs adresses séparées par ; ou ,",
    "Overrides Email for statements": "Remplace Email pour les relevés",
    "Multi-line; overrides the address on statements": "Sur plusieurs lignes ; remplace l'adresse sur les relevés",
    "en or fr; blank = Settings language": "en ou fr ; vide = langue de Settings",
    "Unique (ignoring case and spaces)": "Unique (sans tenir compte de la casse ni des espaces)",
    "Overrides the customer's Email for this invoice": "Remplace l'Email du client pour cette facture",
    "No automatic reminder for this invoice until after this date":
        "Aucune relance automatique pour cette facture avant le lendemain de cette date",
    "Why the invoice is on hold (a dispute, a promise to pay); shown with the hold":
        "Pourquoi la facture est suspendue (un litige, une promesse de paiement) ; affiché avec la suspension",
    "Repeat the ID on several rows to split a payment": "Répétez l'ID sur plusieurs lignes pour répartir un paiement",
    "Blank = not applied (prepayment or unapplied credit)": "Vide = non imputé (paiement anticipé ou crédit non imputé)",
    "A Customers header or a computed field": "Un en-tête de Customers ou un champ calculé",
    "Rule rows are written by the add-in; Added/Removed are yours": "Les lignes Rule sont écrites par le complément ; Added/Removed sont les vôtres",
    "0 to 90": "0 à 90",
    "Only customers of this group": "Seulement les clients de ce groupe",
    "Customer ID or Group, one of the two": "Customer ID ou Group, l'un des deux",
    "1 to 31; 31 = last day of the month": "1 à 31 ; 31 = dernier jour du mois",
    "OS login name": "Nom de connexion Windows / macOS",
    "A Limited user only sees this group's customers": "Un utilisateur Limited ne voit que les clients de ce groupe",
}
SETTINGS_FR = {
    "company_name": "Nom de votre entreprise, affiché dans les courriels et les PDF",
    "company_email": "Adresse d'expédition (From) de chaque courriel",
    "company_phone": "Téléphone de votre entreprise",
    "company_address": "Adresse sur plusieurs lignes pour les PDF",
    "brand_color": "Couleur des courriels et des PDF, p. ex. #1F6FB2",
    "logo_path": "Logo (PNG/JPEG), relatif au classeur",
    "language": "Langue par défaut : en ou fr",
    "currency": "Code ISO de la devise, p. ex. USD, CAD, EUR",
    "timezone": "Fuseau horaire IANA, p. ex. America/Toronto (vide = celui de ce PC)",
    "mail_transport": "outbox écrit des fichiers .eml ; smtp envoie",
    "outbox_dir": "Dossier des fichiers .eml, relatif au classeur",
    "smtp_host": "Serveur SMTP",
    "smtp_port": "Port SMTP",
    "smtp_security": "starttls, ssl ou none",
    "smtp_username": "Identifiant SMTP",
    "smtp_password_env": "NOM de la variable d'environnement qui contient le mot de passe (jamais le mot de passe)",
    "smtp_max_per_minute": "Limite d'envoi par minute ; 0 = sans limite",
    "smtp_ca_file": "Certificat d'autorité privé à approuver (les certificats sont toujours vérifiés)",
    "copy_to_me": "Reçoit une copie sur demande (vide = company_email)",
    "reminders_enabled": "Interrupteur général des relances automatiques",
    "reminders_attach_pdf": "Joindre le PDF de la facture aux relances",
    "reminder_check_times": "Heures de vérification du service",
    "reminder_grouping": "invoice : une relance par facture ; customer : un seul message par client pour ses factures dues",
    "catch_up_days": "Retard maximal pour envoyer une relance ou un relevé manqué",
    "statements_dir": "Dossier des relevés exportés",
    "statement_type": "Type de relevé par défaut",
    "backups_keep": "Nombre de copies de sauvegarde du classeur à conserver avant chaque écriture",
    "sent_dir": "Dossier qui garde une copie de chaque message envoyé (sent/AAAA-MM), relatif au classeur ; vide = aucune",
}
SETTINGS_EN = {  # for keys the schema leaves without a description
    "company_phone": "Your company's phone number",
    "smtp_host": "SMTP server name",
    "smtp_port": "SMTP port",
    "smtp_security": "starttls, ssl or none",
    "smtp_username": "SMTP login",
}

START_EN = (
    ("title", "Receivables — start here"),
    ("", "This workbook is your accounts-receivable book. You type the records; the add-in reads them, "
         "sends reminders and statements, builds customer groups and writes a few columns back."),
    ("section", "How to use it"),
    ("", "1. Settings: your company name, email and address; language, currency; how mail goes out "
         "(outbox writes .eml files you can check first, smtp sends)."),
    ("", "2. Customers: one row per customer — a unique Customer ID, Name, Status (Active or Inactive) and Email."),
    ("", "3. Invoices: one row per invoice — Invoice No, Customer ID, Invoice Date, Due Date, Amount."),
    ("", "4. Payments: one row per payment or credit note. To split a payment over several invoices, repeat "
         "its Payment ID on several rows. Leave Invoice No blank for a prepayment or an unapplied credit."),
    ("", "5. Groups and Group Rules: name a group, then add rules (Field, Operator, Value) that must all hold, "
         "e.g. State is CA. Add or remove customers by hand in Group Members (Source Added or Removed)."),
    ("", "6. Reminders: up to three automatic reminders, a number of days before or after the due date. Blank "
         "texts use the built-in wording in each customer's language. Turn them on with reminders_enabled in Settings."),
    ("", "7. Statement Schedules: monthly statements for a customer or a group, on a day of the month."),
    ("", "8. Then use the Receivables tab in Excel, or the receivables command: "
         "`receivables check book.xlsx` lists what to fix, then `receivables groups build`, "
         "`receivables reminders due`, `receivables statements export` …"),
    ("section", "Good to know"),
    ("", "Type real dates (2026-03-31) and amounts as numbers (1234.50). Keep the sheet names and the headers "
         "in row 1; you may reorder columns and add your own."),
    ("", "Grey headers are the add-in's columns (each has a note): do not type in them, the add-in overwrites them. "
         "The Log and Dashboard sheets are written entirely by the add-in."),
    ("section", "Columns written by the add-in"),
)
START_FR = (
    ("title", "Comptes clients — commencez ici"),
    ("", "Ce classeur est votre registre des comptes clients. Vous saisissez les données ; le complément les lit, "
         "envoie les relances et les relevés, forme les groupes de clients et remplit quelques colonnes."),
    ("section", "Mode d'emploi"),
    ("", "1. Settings : nom, courriel et adresse de votre entreprise ; langue, devise ; mode d'envoi "
         "(outbox écrit des fichiers .eml à vérifier d'abord, smtp envoie)."),
    ("", "2. Customers : une ligne par client — Customer ID unique, Name, Status (Active ou Inactive) et Email."),
    ("", "3. Invoices : une ligne par facture — Invoice No, Customer ID, Invoice Date, Due Date, Amount."),
    ("", "4. Payments : une ligne par paiement ou note de crédit. Pour répartir un paiement sur plusieurs factures, "
         "répétez son Payment ID sur plusieurs lignes. Laissez Invoice No vide pour un paiement anticipé ou un crédit non imputé."),
    ("", "5. Groups et Group Rules : nommez un groupe, puis ajoutez des règles (Field, Operator, Value) qui doivent "
         "toutes être vraies, p. ex. State is QC. Ajoutez ou retirez des clients à la main dans Group Members "
         "(Source Added ou Removed)."),
    ("", "6. Reminders : jusqu'à trois relances automatiques, un nombre de jours avant ou après l'échéance. Les textes "
         "vides utilisent la formulation intégrée dans la langue de chaque client. Activez-les avec reminders_enabled dans Settings."),
    ("", "7. Statement Schedules : relevés mensuels pour un client ou un groupe, à un jour du mois."),
    ("", "8. Utilisez ensuite l'onglet Receivables d'Excel, ou la commande receivables : "
         "`receivables check classeur.xlsx` liste ce qu'il faut corriger, puis `receivables groups build`, "
         "`receivables reminders due`, `receivables statements export` …"),
    ("section", "Bon à savoir"),
    ("", "Saisissez de vraies dates (2026-03-31) et les montants en nombres (1234,50). Gardez les noms des feuilles "
         "et les en-têtes de la ligne 1 ; vous pouvez réordonner les colonnes et ajouter les vôtres."),
    ("", "Les en-têtes gris sont les colonnes du complément (chacune porte une note) : n'y saisissez rien, le "
         "complément les réécrit. Les feuilles Log et Dashboard sont entièrement écrites par le complément."),
    ("section", "Colonnes écrites par le complément"),
)


def build_template(language: str = "en") -> Workbook:
    """The empty workbook for ``language`` ('en' or 'fr'), every sheet of the schema formatted."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    wb = Workbook()
    wb.remove(wb.active)
    _start_here(wb.create_sheet(schema.START_HERE), language)
    lists = _Lists()
    for sheet in schema.SHEETS:
        _records_sheet(wb.create_sheet(sheet.name), sheet, language, lists)
    _settings_values(wb[schema.SETTINGS_SHEET.name], language)
    _reminder_steps(wb[schema.REMINDERS.name])
    _dashboard(wb.create_sheet(schema.DASHBOARD.name), language)
    lists.write(wb)
    props = wb.properties
    props.creator = props.lastModifiedBy = CREATOR
    props.created = props.modified = FIXED_TIME
    props.title = "Receivables"
    props.language = language
    wb.security = None  # no empty workbookProtection element
    wb.active = 0
    return wb


def write_template(path: Path | str, language: str = "en") -> Path:
    """Build the template and save it to ``path`` (atomically, byte-for-byte reproducible)."""
    return save(build_template(language), path)


# --- records sheets ---------------------------------------------------------------------------


def _records_sheet(ws: Worksheet, sheet: Sheet, language: str, lists: _Lists) -> None:
    for i, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i, value=col.header)
        dim = ws.column_dimensions[letter]
        dim.width = col.width
        fmt = FORMATS.get(col.kind)
        if fmt:
            dim.number_format = fmt  # the column's style: rows people add inherit it
        if col.addin or sheet.addin:
            cell.fill, cell.font = ADDIN_FILL, ADDIN_FONT
        note = _note(col, sheet, language)
        if note:
            cell.comment = Comment(note, CREATOR, width=240, height=70)
        _validation(ws, sheet, col, letter, language, lists)
    ws.freeze_panes = "A2"
    if sheet.table:
        last = get_column_letter(len(sheet.columns))
        table = Table(displayName=sheet.table, ref=f"A1:{last}2")
        table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
        ws.add_table(table)


def _note(col: Column, sheet: Sheet, language: str) -> str:
    if col.addin or sheet.addin:
        return ADDIN_NOTE[language]
    if language == "fr":
        return NOTES_FR.get(col.note, col.note)
    return col.note


def _validation(ws: Worksheet, sheet: Sheet, col: Column, letter: str, language: str,
                lists: _Lists) -> None:
    words = WORDS[language]
    sqref = f"{letter}2:{letter}{LAST_ROW}"
    listed = LIST_COLUMNS.get((sheet.name, col.header))
    if col.choices:
        dv = _list_validation(col.choices, lists, words["choose"].format(", ".join(col.choices)), words)
    elif listed:
        dv = _list_validation(listed, lists, words["field"].format(", ".join(schema.COMPUTED_FIELDS)), words)
        dv.errorStyle = "warning"  # people's own Customers columns are allowed too
    elif (sheet.name, col.header) in INT_RANGES:
        low, high = INT_RANGES[(sheet.name, col.header)]
        dv = DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),
                            allow_blank=True, showErrorMessage=True,
                            errorTitle=words["whole_title"], error=words["whole"].format(low, high))
    else:
        return
    dv.add(sqref)
    ws.add_data_validation(dv)


def _list_validation(values: Sequence[str], lists: _Lists, message: str,
                     words: Mapping[str, str]) -> DataValidation:
    inline = ",".join(values)
    formula = f'"{inline}"' if len(inline) <= LIST_LIMIT else lists.ref(values)
    return DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                          errorTitle=words["choose_title"], error=message[:ERROR_LIMIT])


class _Lists:
    """Drop-down lists too long for an inline validation: one column each on a hidden sheet."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, ...]] = []

    def ref(self, values: Sequence[str]) -> str:
        values = tuple(values)
        if values not in self.columns:
            self.columns.append(values)
        letter = get_column_letter(self.columns.index(values) + 1)
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(values)}"

    def write(self, wb: Workbook) -> None:
        if not self.columns:
            return
        ws = wb.create_sheet(LISTS_SHEET)
        for c, values in enumerate(self.columns, start=1):
            for r, value in enumerate(values, start=1):
                ws.cell(row=r, column=c, value=value)
        ws.sheet_state = "hidden"


def _settings_values(ws: Worksheet, language: str) -> None:
    """One row per schema setting: key, default value, description."""
    rows = []
    for s in schema.SETTINGS:
        value = language if s.key == "language" else s.default
        if language == "fr":
            description = SETTINGS_FR.get(s.key, s.description)
        else:
            description = s.description or SETTINGS_EN.get(s.key, "")
        rows.append({"Key": s.key, "Value": value, "Description": description})
    put_records(ws, schema.SETTINGS_SHEET, rows)
    for r, s in enumerate(schema.SETTINGS, start=2):
        if s.choices:  # a drop-down on the Value cell of each enumerated setting
            dv = DataValidation(type="list", formula1='"' + ",".join(s.choices) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle=WORDS[language]["choose_title"],
                                error=WORDS[language]["choose"].format(", ".join(s.choices)))
            dv.add(f"B{r}")
            ws.add_data_validation(dv)
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")


def _reminder_steps(ws: Worksheet) -> None:
    """The three usual steps: 3 days before, 7 and 30 days after; blank texts use the defaults."""
    put_records(ws, schema.REMINDERS, [
        {"Reminder": 1, "Enabled": True, "Days": 3, "When": "Before", "Greeting": True},
        {"Reminder": 2, "Enabled": True, "Days": 7, "When": "After", "Greeting": True},
        {"Reminder": 3, "Enabled": True, "Days": 30, "When": "After", "Greeting": True},
    ])


# --- filling records (the template's own rows and the demo's) --------------------------------


def put_records(ws: Worksheet, sheet: Sheet, records: Iterable[Mapping[str, object]]) -> int:
    """Append records (header -> value) after the sheet's last record; grow its table.

    Cells get the number format of their column's kind. Returns the last row written.
    """
    letters = {schema.normalize(str(c.value)): c.column for c in ws[1] if c.value is not None}
    last = _last_record_row(ws)
    for record in records:
        last += 1
        for header, value in record.items():
            if value is None or value == "":
                continue
            col = sheet.column(header)
            if isinstance(value, Decimal):
                value = float(value)  # money leaves Decimal only here, at the cell
            cell = ws.cell(row=last, column=letters[col.key], value=value)
            fmt = FORMATS.get(col.kind)
            if fmt and not isinstance(value, str):
                cell.number_format = fmt
            if isinstance(value, str) and "\n" in value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    if sheet.table and sheet.table in ws.tables:
        table = ws.tables[sheet.table]
        end = get_column_letter(len(letters))
        table.ref = f"A1:{end}{max(last, 2)}"
        if table.autoFilter is not None:
            table.autoFilter.ref = table.ref
    return last


def _last_record_row(ws: Worksheet) -> int:
    for row in range(ws.max_row, 1, -1):
        if any(c.value not in (None, "") for c in ws[row]):
            return row
    return 1


# --- Start here and Dashboard -----------------------------------------------------------------


def _start_here(ws: Worksheet, language: str) -> None:
    ws.column_dimensions["A"].width = 110
    ws.sheet_view.showGridLines = False
    row = 0
    for style, text in START_FR if language == "fr" else START_EN:
        row += 1
        if style == "section":
            row += 1  # a blank line before each section
        cell = ws.cell(row=row, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if style == "title":
            cell.font = TITLE_FONT
        elif style == "section":
            cell.font = SECTION_FONT
    for sheet in (*schema.SHEETS, schema.DASHBOARD):
        headers = [c.header for c in sheet.columns if c.addin]
        if sheet.addin:
            line = f"{sheet.name}: " + ("la feuille entière" if language == "fr" else "the whole sheet")
        elif headers:
            line = f"{sheet.name}: {', '.join(headers)}"
        else:
            continue
        row += 1
        ws.cell(row=row, column=1, value=line).alignment = Alignment(wrap_text=True, vertical="top")


def _dashboard(ws: Worksheet, language: str) -> None:
    """Labels, formats and charts; the value cells are left empty for the refresh."""
    texts = dash.TEXTS[language]
    fr = language == "fr"
    ws.sheet_view.showGridLines = False
    for letter, width in dash.COLUMN_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    _text(ws, dash.TITLE, texts["title"], TITLE_FONT)
    _text(ws, dash.AS_OF_LABEL, texts["as_of"], BOLD)
    _empty(ws, dash.AS_OF, dash.DATE_FORMAT)
    _text(ws, dash.FIGURES_TITLE, texts["figures"], SECTION_FONT)
    for f in dash.FIGURES:
        _text(ws, f.label_cell, f.fr if fr else f.en)
        _empty(ws, f.cell, f.number_format)

    _text(ws, dash.AGEING_TITLE, texts["ageing"], SECTION_FONT)
    headers = dash.AGEING_HEADERS_FR if fr else dash.AGEING_HEADERS_EN
    for letter, header in zip((dash.AGEING_LABEL_COL, dash.AGEING_AMOUNT_COL, dash.AGEING_PERCENT_COL),
                              headers, strict=True):
        _text(ws, f"{letter}{dash.AGEING_HEADER_ROW}", header, BOLD)
    labels = dash.BUCKET_LABELS_FR if fr else dash.BUCKET_LABELS_EN
    for i, label in enumerate(labels):
        _text(ws, f"{dash.AGEING_LABEL_COL}{dash.AGEING_FIRST_ROW + i}", label)
        amount, percent = dash.bucket_cells(i)
        _empty(ws, amount, dash.MONEY_FORMAT)
        _empty(ws, percent, dash.PERCENT_FORMAT)
    _text(ws, f"{dash.AGEING_LABEL_COL}{dash.AGEING_TOTAL_ROW}", texts["total"], BOLD)
    _empty(ws, f"{dash.AGEING_AMOUNT_COL}{dash.AGEING_TOTAL_ROW}", dash.MONEY_FORMAT, BOLD)
    _empty(ws, f"{dash.AGEING_PERCENT_COL}{dash.AGEING_TOTAL_ROW}", dash.PERCENT_FORMAT, BOLD)

    _text(ws, dash.TOP_TITLE, texts["top"], SECTION_FONT)
    top_headers = dash.TOP_HEADERS_FR if fr else dash.TOP_HEADERS_EN
    columns = (dash.TOP_ID_COL, dash.TOP_NAME_COL, dash.TOP_OVERDUE_COL, dash.TOP_DAYS_COL)
    for letter, header in zip(columns, top_headers, strict=True):
        _text(ws, f"{letter}{dash.TOP_HEADER_ROW}", header, BOLD)
    for i in range(dash.TOP_COUNT):
        for cell, fmt in zip(dash.top_cells(i), dash.TOP_FORMATS, strict=True):
            _empty(ws, cell, fmt)

    ws.add_chart(_bar_chart(
        ws, texts["ageing_chart"], texts["amount_axis"], "col",
        values=(dash.AGEING_AMOUNT_COL, dash.AGEING_FIRST_ROW, dash.AGEING_LAST_ROW),
        categories=(dash.AGEING_LABEL_COL, dash.AGEING_FIRST_ROW, dash.AGEING_LAST_ROW),
    ), dash.AGEING_CHART_ANCHOR)
    ws.add_chart(_bar_chart(
        ws, texts["top_chart"], texts["amount_axis"], "bar",
        values=(dash.TOP_OVERDUE_COL, dash.TOP_FIRST_ROW, dash.TOP_LAST_ROW),
        categories=(dash.TOP_NAME_COL, dash.TOP_FIRST_ROW, dash.TOP_LAST_ROW),
    ), dash.TOP_CHART_ANCHOR)


def _text(ws: Worksheet, ref: str, text: str, font: Font | None = None) -> None:
    ws[ref] = text
    if font is not None:
        ws[ref].font = font


def _empty(ws: Worksheet, ref: str, number_format: str, font: Font | None = None) -> None:
    """A styled empty cell: the refresh writes the value and keeps this format."""
    ws[ref].number_format = number_format
    if font is not None:
        ws[ref].font = font


def _bar_chart(ws: Worksheet, title: str, axis_title: str, direction: str,
               values: tuple[str, int, int], categories: tuple[str, int, int]) -> BarChart:
    """A one-series bar chart reading Dashboard cells (no cached data: Excel reads the cells)."""
    from openpyxl.chart.data_source import AxDataSource, StrRef
    from openpyxl.utils import column_index_from_string

    chart = BarChart()
    chart.type = direction
    chart.title = title
    chart.style = 10
    chart.legend = None
    chart.width, chart.height = dash.CHART_WIDTH_CM, dash.CHART_HEIGHT_CM
    col, first, last = values
    chart.add_data(Reference(ws, min_col=column_index_from_string(col), min_row=first, max_row=last),
                   titles_from_data=False)
    col, first, last = categories
    labels = Reference(ws, min_col=column_index_from_string(col), min_row=first, max_row=last)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(labels)))  # text labels, not numbers
    chart.title.overlay = False
    chart.y_axis.title = axis_title
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told
    chart.y_axis.delete = False
    if direction == "bar":
        chart.x_axis.scaling.orientation = "maxMin"  # largest (first row) at the top
        chart.y_axis.crosses = "max"  # and the amounts' axis stays at the bottom
    return chart


# --- saving -----------------------------------------------------------------------------------

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def to_bytes(wb: Workbook) -> bytes:
    """The .xlsx bytes, reproducible: fixed document times and zip entry times."""
    from openpyxl.writer.excel import ExcelWriter

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()  # unlike Workbook.save, keeps properties.modified
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def save(wb: Workbook, path: Path | str) -> Path:
    """Write ``wb`` to ``path`` through a temporary file and an atomic replace."""
    from .files import write_atomically

    return write_atomically(Path(path), to_bytes(wb))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m addin.workbook.template [PATH] [--language fr]``: regenerate the template."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m addin.workbook.template", description=main.__doc__)
    default = Path(__file__).resolve().parents[2] / "workbook_template.xlsx"
    parser.add_argument("path", nargs="?", type=Path, default=default)
    parser.add_argument("--language", choices=LANGUAGES, default="en")
    args = parser.parse_args(argv)
    write_template(args.path, args.language)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
