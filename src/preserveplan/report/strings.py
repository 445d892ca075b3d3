"""Every user-facing string of the reports, in Swedish and English (same keys in both)."""

from __future__ import annotations

SV: dict[str, str] = {
    "lang_name": "svenska",
    "title_specialist": "Bevarandeplanering: specialistrapport",
    "title_management": "Bevarandeplanering: sammanfattning för ledningen",
    "subtitle": "Gemensamt e-arkiv för kommunerna i Dalarna",
    "scan": "Skanning",
    "scanned_root": "Skannad katalog",
    "scan_date": "Skannad",
    "report_date": "Rapporten skapad",
    "no_assessment": (
        "Skanningen har ingen bedömning ännu: status och risk saknas. "
        "Kör 'preserveplan assess' och skapa rapporten igen."
    ),
    "assessment": "Bedömning",
    "files": "Filer",
    "bytes": "Byte",
    "size": "Storlek",
    "share": "Andel",
    "total": "Totalt",
    "org": "Organisation",
    "org_none": "(roten)",
    "puid": "PUID",
    "format_name": "Format",
    "version": "Version",
    "status": "Status",
    "risk": "Risk",
    "rule": "Regel",
    "action": "Åtgärd",
    "source": "Källa",
    "finding": "Iakttagelse",
    "path": "Sökväg",
    "sha256": "SHA-256",
    "outcome": "Utfall",
    "message": "Meddelande",
    "count": "Antal",
    "none": "Inga",
    "yes": "ja",
    "no": "nej",
    "sort_hint": "Klicka på en kolumnrubrik för att sortera.",
    "st_preservation": "Bevarandeformat",
    "st_acceptable": "Godtagbart",
    "st_migrate": "Ska migreras",
    "st_at-risk": "I riskzonen",
    "st_unknown": "Okänt",
    "st_unassessed": "Ej bedömt",
    "risk_low": "låg",
    "risk_moderate": "måttlig",
    "risk_high": "hög",
    "risk_none": "–",
    "f_encrypted": "krypterad",
    "f_unreadable": "oläsbar, tom eller skadad",
    "f_unidentified": "oidentifierad",
    "f_multiple_matches": "flera träffar",
    "f_extension_mismatch": "filändelsen stämmer inte",
    "f_fixity_mismatch": "kontrollsumman stämmer inte med METS",
    "f_mets_error": "METS-filen kan inte läsas",
    "f_not_in_mets": "saknas i paketets METS",
    # specialist
    "sec_summary": "Översikt",
    "sec_profile": "Formatprofil",
    "sec_rules": "Tillämpade regler",
    "rationale": "Motivering",
    "sec_holdings": "Bestånd i riskzonen och att migrera",
    "per_rule": "Per regel eller iakttagelse",
    "per_org": "Per organisation",
    "list_atrisk": "Filer i riskzonen",
    "list_migrate": "Filer att migrera",
    "list_capped": "Visar {shown} av {total} filer. Hela listan finns i CSV-filen:",
    "csv_link": "fullständig fillista (CSV)",
    "sec_problems": "Identifieringsproblem",
    "p_unidentified": "Oidentifierade filer",
    "p_multiple": "Flera formatträffar",
    "p_mismatch": "Filändelsen stämmer inte med innehållet",
    "p_encrypted": "Krypterade filer",
    "p_errors": "Skanningsfel (utfall annat än ok)",
    "p_duplicates": "Dubbletter (samma SHA-256)",
    "dup_groups": "{groups} grupper med samma innehåll, {extra} extra kopior ({bytes}).",
    "dup_copies": "Kopior",
    "more_paths": "… och {n} till",
    "sec_migrations": "Migreringsstatus",
    "no_migrations": "Inga migreringar har körts.",
    "mig_note": (
        "Räknat ur migreringsjournalen. Klar betyder att arkivkopian skapats och godkänts vid "
        "valideringen; utfallet 'invalid' betyder att arkivkopian underkändes vid valideringen."
    ),
    "mig_run": "Körning",
    "mig_out_dir": "Utmapp",
    "mig_started": "Startad",
    "mig_finished": "Avslutad",
    "mig_done": "Klara",
    "mig_failed": "Misslyckade",
    "mig_pending": "Väntar",
    "mig_bytes_in": "In (konverterat)",
    "mig_bytes_out": "Ut (arkivkopior)",
    "mig_validation": "Validering",
    "mig_valid_text": "{passed} godkända, {failed} underkända",
    "mig_failed_by": "Misslyckade per utfall",
    "mig_failed_list": "Misslyckade filer",
    "mig_failed_capped": "Visar {shown} av {total} misslyckade filer.",
    "mig_attempts": "Försök",
    "mig_st_running": "pågår eller avbröts",
    "mig_st_complete": "klar",
    "mig_st_stopped": "stoppad",
    "m_converted": "Konvertering till arkivformat",
    "m_converted_text": (
        "Hittills har {done} filer ({done_size}) konverterats till arkivformat. "
        "Kvar att konvertera: {remaining} filer ({remaining_size})."
    ),
    "m_converted_failed": (
        "{failed} filer kunde inte konverteras och behöver ses över av en människa."
    ),
    "m_converted_no_failed": "Inga konverteringar har misslyckats.",
    "sec_method": "Hur rapporten togs fram",
    "ruleset": "Regeluppsättning",
    "ruleset_version": "Version",
    "ruleset_digest": "Kontrollsumma",
    "assessed_at": "Bedömd",
    "assessed_by": "Bedömd av",
    "v_preserveplan": "preserveplan",
    "v_pygfried": "pygfried",
    "v_siegfried": "Siegfried",
    "v_signature": "Signaturfil",
    "scan_started": "Skanning startad",
    "scan_finished": "Skanning klar",
    "scan_status": "Skanningens status",
    "catalog_path": "Katalogfil",
    "method_note": (
        "Siffrorna räknas direkt ur katalogen (SQL). Filer i containrar (t.ex. ZIP) räknas "
        "som egna filer. 1 GB = 1 000 000 000 byte."
    ),
    # management
    "m_intro": (
        "Den här sammanfattningen beskriver hur väl arkivets filer går att bevara på lång sikt, "
        "och hur mycket som behöver åtgärdas."
    ),
    "m_holdings": "Arkivets innehåll",
    "m_total": "{files} filer, {size}",
    "m_preservation_share": "Andel i bevarandeformat",
    "m_preservation_text": "{pct} av filerna ({bpct} av datamängden) är redan i bevarandeformat.",
    "m_atrisk": "I riskzonen",
    "m_atrisk_text": (
        "{files} filer ({size}) behöver en människas bedömning: okänt format, krypterade, "
        "skadade eller format utan säker bevarandeväg."
    ),
    "m_migrate": "Ska migreras",
    "m_migrate_text": (
        "{files} filer ({size}) bör få en arkivkopia i ett bevarandeformat med ett testat verktyg."
    ),
    "m_by_org": "Per organisation",
    "m_status_chart": "Filer per status",
    "m_org_chart": "Datamängd per organisation (GB)",
    "m_changes": "Förändring sedan förra skanningen",
    "m_compare_with": "Jämfört med skanning {id} ({date}).",
    "m_no_compare": "Det finns ingen tidigare skanning att jämföra med.",
    "m_growth": "Tillväxt",
    "m_added": "Nya filer",
    "m_removed": "Borttagna filer",
    "m_changed": "Ändrade filer",
    "m_moved": "Flyttade filer",
    "m_risk_added": "Nya filer i riskzonen",
    "m_risk_reduced": "Filer som inte längre är i riskzonen",
    "m_before": "Före",
    "m_now": "Nu",
    "m_change": "Förändring",
    "m_trend": "Risk över tid",
    "m_trend_files": "Filer i riskzonen och att migrera, per skanning",
    # format families
    "family": "Formatfamilj",
    "family_other": "Övrigt / ingen regel",
    "family_other_class": "Övrigt / ingen PRONOM-klass",
    "family_mixed": "blandad",
    "family_hint": (
        "Formaten är grupperade i formatfamiljer: den regel i bedömningen som formatet faller "
        "under. Familjens rad visar summan av formaten under den; sortering sker inom familjerna."
    ),
    "family_note_class": (
        "Ingen bedömning ännu: formaten är grupperade efter PRONOM-klass i stället för efter regel."
    ),
    "family_note_none": (
        "Ingen bedömning ännu: formaten kan inte grupperas i familjer och visas som en lista."
    ),
    # conversion plan
    "sec_plan": "Uppskattat konverteringsarbete",
    "plan_none": (
        "Ingen konverteringsplan kan göras ännu: skanningen har ingen bedömning. "
        "Kör 'preserveplan assess' och skapa rapporten igen."
    ),
    "plan_empty": "Inga filer behöver konverteras med ett verktyg.",
    "plan_summary": (
        "{files} filer ({size}) ska konverteras. Arkivkopiorna beräknas bli {out} stora, och "
        "konverteringen beräknas ta {time} maskintid."
    ),
    "plan_files": "Filer att konvertera",
    "plan_gb": "GB att konvertera",
    "plan_out_gb": "Uppskattad storlek efter (GB)",
    "plan_time": "Uppskattad tid",
    "plan_hours": "Timmar",
    "plan_out": "uppskattad storlek efter konvertering",
    "rate_per_file": "Sekunder per fil",
    "rate_per_mb": "Sekunder per MB",
    "rate_ratio": "Storlek efter / före",
    "per_rule_tool": "Per regel och verktyg",
    "tool": "Verktyg",
    "target": "Målformat",
    "rate_source": "Hastigheter",
    "rate_default": "standardvärden",
    "rate_calibrated": "uppmätta med 'preserveplan calibrate'",
    "rates_default": (
        "Uppskattningen bygger på standardvärden för verktygens hastighet, inte på mätningar på "
        "den här datorn. Kör 'preserveplan calibrate' för en säkrare uppskattning."
    ),
    "rates_calibrated": (
        "Uppskattningen bygger på hastigheter som mätts på den här datorn med "
        "'preserveplan calibrate'."
    ),
    "rates_mixed": (
        "Uppskattningen bygger delvis på hastigheter uppmätta med 'preserveplan calibrate', "
        "delvis på standardvärden ({tools})."
    ),
    "rates_none": "Inget verktyg behövs, så ingen hastighet har använts.",
    "plan_missing_tools": "Verktyg som saknas på den här datorn och måste installeras: {tools}.",
    "plan_in_containers": (
        "{files} filer att migrera ligger inuti containrar (t.ex. ZIP) och ingår inte i "
        "siffrorna ovan: de måste packas upp först."
    ),
    "plan_no_tool": (
        "{files} filer som ska migreras har inget angivet verktyg (t.ex. efter ett manuellt "
        "beslut) och ingår inte i uppskattningen."
    ),
    "dur_under_minute": "under en minut",
    "dur_minute": "cirka 1 minut",
    "dur_minutes": "cirka {n} minuter",
    "dur_hour": "cirka 1 timme",
    "dur_hours": "cirka {n} timmar",
    "dur_days": "{text} (drygt {n} dygn)",
    "m_gb": "GB",
    "m_footer": (
        "Statusarna bygger på regeluppsättningen {ruleset} {version}, ett förslag som "
        "arkivmyndigheterna ska bekräfta."
    ),
}

EN: dict[str, str] = {
    "lang_name": "English",
    "title_specialist": "Preservation planning: specialist report",
    "title_management": "Preservation planning: management summary",
    "subtitle": "Shared e-archive of the municipalities in Dalarna",
    "scan": "Scan",
    "scanned_root": "Scanned folder",
    "scan_date": "Scanned",
    "report_date": "Report created",
    "no_assessment": (
        "This scan has no assessment yet: status and risk are missing. "
        "Run 'preserveplan assess' and create the report again."
    ),
    "assessment": "Assessment",
    "files": "Files",
    "bytes": "Bytes",
    "size": "Size",
    "share": "Share",
    "total": "Total",
    "org": "Organisation",
    "org_none": "(root)",
    "puid": "PUID",
    "format_name": "Format",
    "version": "Version",
    "status": "Status",
    "risk": "Risk",
    "rule": "Rule",
    "action": "Action",
    "source": "Source",
    "finding": "Finding",
    "path": "Path",
    "sha256": "SHA-256",
    "outcome": "Outcome",
    "message": "Message",
    "count": "Count",
    "none": "None",
    "yes": "yes",
    "no": "no",
    "sort_hint": "Click a column heading to sort.",
    "st_preservation": "Preservation format",
    "st_acceptable": "Acceptable",
    "st_migrate": "To migrate",
    "st_at-risk": "At risk",
    "st_unknown": "Unknown",
    "st_unassessed": "Not assessed",
    "risk_low": "low",
    "risk_moderate": "moderate",
    "risk_high": "high",
    "risk_none": "–",
    "f_encrypted": "encrypted",
    "f_unreadable": "unreadable, empty or corrupt",
    "f_unidentified": "unidentified",
    "f_multiple_matches": "multiple matches",
    "f_extension_mismatch": "extension mismatch",
    "f_fixity_mismatch": "checksum differs from the METS",
    "f_mets_error": "METS file cannot be read",
    "f_not_in_mets": "not listed in the package's METS",
    "sec_summary": "Overview",
    "sec_profile": "Format profile",
    "sec_rules": "Rules applied",
    "rationale": "Rationale",
    "sec_holdings": "At-risk and to-migrate holdings",
    "per_rule": "Per rule or finding",
    "per_org": "Per organisation",
    "list_atrisk": "Files at risk",
    "list_migrate": "Files to migrate",
    "list_capped": "Showing {shown} of {total} files. The complete list is in the CSV file:",
    "csv_link": "complete file list (CSV)",
    "sec_problems": "Identification problems",
    "p_unidentified": "Unidentified files",
    "p_multiple": "Multiple format matches",
    "p_mismatch": "Extension does not match the content",
    "p_encrypted": "Encrypted files",
    "p_errors": "Scan errors (outcome other than ok)",
    "p_duplicates": "Duplicates (same SHA-256)",
    "dup_groups": "{groups} groups with the same content, {extra} extra copies ({bytes}).",
    "dup_copies": "Copies",
    "more_paths": "… and {n} more",
    "sec_migrations": "Migration status",
    "no_migrations": "No migrations have run.",
    "mig_note": (
        "Counted from the migration journal. Done means the archival copy was made and passed "
        "validation; outcome 'invalid' means the archival copy failed validation."
    ),
    "mig_run": "Run",
    "mig_out_dir": "Output folder",
    "mig_started": "Started",
    "mig_finished": "Finished",
    "mig_done": "Done",
    "mig_failed": "Failed",
    "mig_pending": "Pending",
    "mig_bytes_in": "In (converted)",
    "mig_bytes_out": "Out (archival copies)",
    "mig_validation": "Validation",
    "mig_valid_text": "{passed} passed, {failed} failed",
    "mig_failed_by": "Failed by outcome",
    "mig_failed_list": "Failed files",
    "mig_failed_capped": "Showing {shown} of {total} failed files.",
    "mig_attempts": "Attempts",
    "mig_st_running": "running or interrupted",
    "mig_st_complete": "complete",
    "mig_st_stopped": "stopped",
    "m_converted": "Conversion to archival formats",
    "m_converted_text": (
        "So far {done} files ({done_size}) have been converted to archival formats. "
        "Still to convert: {remaining} files ({remaining_size})."
    ),
    "m_converted_failed": (
        "{failed} files could not be converted and need a person to look at them."
    ),
    "m_converted_no_failed": "No conversions have failed.",
    "sec_method": "How this report was produced",
    "ruleset": "Ruleset",
    "ruleset_version": "Version",
    "ruleset_digest": "Digest",
    "assessed_at": "Assessed",
    "assessed_by": "Assessed by",
    "v_preserveplan": "preserveplan",
    "v_pygfried": "pygfried",
    "v_siegfried": "Siegfried",
    "v_signature": "Signature file",
    "scan_started": "Scan started",
    "scan_finished": "Scan finished",
    "scan_status": "Scan status",
    "catalog_path": "Catalog file",
    "method_note": (
        "Figures are counted directly from the catalog (SQL). Files inside containers (e.g. ZIP) "
        "count as files of their own. 1 GB = 1,000,000,000 bytes."
    ),
    "m_intro": (
        "This summary shows how well the archive's files can be preserved in the long term, "
        "and how much needs action."
    ),
    "m_holdings": "What the archive holds",
    "m_total": "{files} files, {size}",
    "m_preservation_share": "Share in preservation formats",
    "m_preservation_text": (
        "{pct} of the files ({bpct} of the data) are already in preservation formats."
    ),
    "m_atrisk": "At risk",
    "m_atrisk_text": (
        "{files} files ({size}) need a person's decision: unknown formats, encrypted or damaged "
        "files, or formats without a safe preservation path."
    ),
    "m_migrate": "To migrate",
    "m_migrate_text": (
        "{files} files ({size}) should get an archival copy in a preservation format made "
        "with a tested tool."
    ),
    "m_by_org": "By organisation",
    "m_status_chart": "Files by status",
    "m_org_chart": "Data by organisation (GB)",
    "m_changes": "Changes since the previous scan",
    "m_compare_with": "Compared with scan {id} ({date}).",
    "m_no_compare": "There is no earlier scan to compare with.",
    "m_growth": "Growth",
    "m_added": "New files",
    "m_removed": "Removed files",
    "m_changed": "Changed files",
    "m_moved": "Moved files",
    "m_risk_added": "Files newly at risk",
    "m_risk_reduced": "Files no longer at risk",
    "m_before": "Before",
    "m_now": "Now",
    "m_change": "Change",
    "m_trend": "Risk over time",
    "m_trend_files": "Files at risk and to migrate, per scan",
    "family": "Format family",
    "family_other": "Other / no rule",
    "family_other_class": "Other / no PRONOM class",
    "family_mixed": "mixed",
    "family_hint": (
        "Formats are grouped into format families: the rule of the assessment each format falls "
        "under. A family's row shows the sum of its formats; sorting sorts within the families."
    ),
    "family_note_class": (
        "No assessment yet: formats are grouped by PRONOM class instead of by rule."
    ),
    "family_note_none": (
        "No assessment yet: formats cannot be grouped into families and are shown as one list."
    ),
    "sec_plan": "Estimated conversion work",
    "plan_none": (
        "No conversion plan can be made yet: the scan has no assessment. "
        "Run 'preserveplan assess' and create the report again."
    ),
    "plan_empty": "No files need converting with a tool.",
    "plan_summary": (
        "{files} files ({size}) are to be converted. The archival copies are estimated at {out}, "
        "and the conversion at {time} of machine time."
    ),
    "plan_files": "Files to convert",
    "plan_gb": "GB to convert",
    "plan_out_gb": "Estimated size after (GB)",
    "plan_time": "Estimated time",
    "plan_hours": "Hours",
    "plan_out": "estimated size after conversion",
    "rate_per_file": "Seconds per file",
    "rate_per_mb": "Seconds per MB",
    "rate_ratio": "Size after / before",
    "per_rule_tool": "Per rule and tool",
    "tool": "Tool",
    "target": "Target format",
    "rate_source": "Rates",
    "rate_default": "defaults",
    "rate_calibrated": "measured with 'preserveplan calibrate'",
    "rates_default": (
        "The estimate uses default rates for the tools, not measurements on this computer. "
        "Run 'preserveplan calibrate' for a better estimate."
    ),
    "rates_calibrated": (
        "The estimate uses rates measured on this computer with 'preserveplan calibrate'."
    ),
    "rates_mixed": (
        "The estimate uses rates measured with 'preserveplan calibrate' for some tools and "
        "default rates for others ({tools})."
    ),
    "rates_none": "No tool is needed, so no rates were used.",
    "plan_missing_tools": "Tools missing on this computer that must be installed: {tools}.",
    "plan_in_containers": (
        "{files} files to migrate are inside containers (e.g. ZIP) and are not counted above: "
        "they must be extracted first."
    ),
    "plan_no_tool": (
        "{files} files to migrate have no tool named (e.g. after a manual decision) and are not "
        "part of the estimate."
    ),
    "dur_under_minute": "less than a minute",
    "dur_minute": "about 1 minute",
    "dur_minutes": "about {n} minutes",
    "dur_hour": "about 1 hour",
    "dur_hours": "about {n} hours",
    "dur_days": "{text} (more than {n} days round the clock)",
    "m_gb": "GB",
    "m_footer": (
        "The statuses follow the ruleset {ruleset} {version}, a proposal that the archive "
        "authorities are to confirm."
    ),
}

STRINGS: dict[str, dict[str, str]] = {"sv": SV, "en": EN}
LANGS = tuple(STRINGS)


def strings(lang: str) -> dict[str, str]:
    try:
        return STRINGS[lang]
    except KeyError:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}") from None


def fmt_number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """1234.5 -> '1 234,5' (sv, with no-break spaces) or '1,234.5' (en)."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "sv":
        text = text.replace(",", "\u00a0").replace(".", ",")
        if text.startswith("-"):
            text = "\u2212" + text[1:]
    return text


def fmt_percent(part: float, whole: float, lang: str) -> str:
    if not whole:
        return "–"
    value = 100.0 * part / whole
    decimals = 1 if 0 < value < 10 or 90 < value < 100 else 0
    sep = "\u00a0" if lang == "sv" else ""
    return fmt_number(value, lang, decimals) + sep + "%"


def fmt_bytes(n: int | float | None, lang: str) -> str:
    """Decimal units (kB, MB, GB, TB), one decimal from MB up."""
    if n is None:
        return "–"
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            text = fmt_number(value / scale, lang, 1) + "\u00a0" + unit
            break
    else:
        text = fmt_number(value, lang) + "\u00a0B"
    if sign:
        text = ("\u2212" if lang == "sv" else "-") + text
    return text


def fmt_gb(n: int | float | None, lang: str) -> str:
    if n is None:
        return "–"
    value = n / 1e9
    return fmt_number(value, lang, 2 if abs(value) < 10 else 1)


def fmt_duration(seconds: float | None, lang: str) -> str:
    """Machine time in plain words: 'about 3.5 hours', 'cirka 12 minuter'."""
    if seconds is None:
        return "–"
    t = strings(lang)
    if seconds < 60:
        return t["dur_under_minute"]
    if seconds < 3600 - 30:
        minutes = round(seconds / 60)
        return t["dur_minute"] if minutes == 1 else t["dur_minutes"].format(n=minutes)
    hours = seconds / 3600
    decimals = 1 if hours < 10 else 0
    text = fmt_number(hours, lang, decimals)
    one = text in ("1", "1,0", "1.0")
    out = t["dur_hour"] if one else t["dur_hours"].format(n=text)
    if hours >= 48:
        out = t["dur_days"].format(text=out, n=int(hours // 24))
    return out
