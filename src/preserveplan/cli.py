"""The ``preserveplan`` command line: thin wrappers over the Python API.

Exit codes: 0 done; 1 failure; 2 usage error (bad arguments, missing root, unknown scan);
3 catalog error; 4 catalog locked by another process; 6 the Dask cluster (``--cluster``) cannot
be reached or used; 130 interrupted (the scan resumes when the same command is run again).
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import api
from . import paths as P
from .catalog import Catalog, default_db_path
from .errors import PreserveplanError
from .export import FORMATS
from .inventory.containers import Limits
from .progress import ScanProgress
from .versions import __version__, probe_engine

F = TypeVar("F", bound=Callable[..., Any])


def _version_text() -> str:
    info = probe_engine()
    return (
        f"preserveplan {__version__}\n"
        f"pygfried {info.pygfried}\n"
        f"siegfried {info.siegfried}\n"
        f"signatures {info.signature}, created {info.signature_created}"
    )


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit(0)


def db_option(f: F) -> F:
    return click.option(
        "--db",
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Catalog file (default: $PRESERVEPLAN_DB or ./{Path(default_db_path()).name}).",
    )(f)


def scan_option(f: F) -> F:
    return click.option(
        "--scan", "scan_id", type=int, default=None, help="Scan id (default: the newest complete)."
    )(f)


class Group(click.Group):
    """Turns expected errors into one clear line and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PreserveplanError as exc:
            click.echo(f"preserveplan: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(
                "\npreserveplan: interrupted; run the same command again to resume", err=True
            )
            ctx.exit(130)
        except BrokenPipeError:
            ctx.exit(0)
        except sqlite3.Error as exc:
            click.echo(f"preserveplan: catalog error: {exc}", err=True)
            ctx.exit(3)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"preserveplan: error: {exc.strerror or exc}{where}", err=True)
            ctx.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of preserveplan, pygfried, Siegfried and the signature files.",
)
def main() -> None:
    """preserveplan: inventory an archive (Siegfried/PRONOM), plan preservation, report."""


# -- scan --------------------------------------------------------------------------------------
label_option = click.option("--label", default=None, help="A note kept with the scan record.")
org_depth_option = click.option(
    "--org-depth",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="How many top-level folders name the organisation (municipality).",
)


def cluster_option(f: F) -> F:
    return click.option(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="Run the per-file work on this Dask scheduler's workers (tcp://host:8786); "
        "they must see the same paths. Default: local worker processes.",
    )(f)


def _check_cluster(opts: dict[str, Any]) -> None:
    if opts.get("cluster") and opts.get("workers"):
        raise click.UsageError(
            "--workers and --cluster exclude each other (the cluster has its own)"
        )
    if opts.get("cluster"):
        from .cluster import quiet_dask_logs

        quiet_dask_logs()


def scan_options(f: F) -> F:
    options = [
        db_option,
        click.option(
            "--workers",
            "-j",
            type=click.IntRange(1, 256),
            default=None,
            help="Worker processes for hashing and identification (default: all cores).",
        ),
        click.option(
            "--exclude",
            multiple=True,
            metavar="GLOB",
            help="Skip paths or names matching GLOB (repeatable); counted in the summary.",
        ),
        cluster_option,
        label_option,
        click.option(
            "--rehash",
            is_flag=True,
            help="Read every file again instead of reusing unchanged files' checksums.",
        ),
        click.option(
            "--follow-symlinks",
            is_flag=True,
            help="Follow symbolic links (loops are detected); by default they are recorded only.",
        ),
        org_depth_option,
        click.option(
            "--org-from-package",
            is_flag=True,
            help="Files inside an information package (a folder with METS.xml) get the "
            "package id (METS OBJID, else the folder's name) as their organisation.",
        ),
        click.option(
            "--max-depth",
            type=click.IntRange(0, 20),
            default=Limits.max_depth,
            show_default=True,
            help="Container nesting depth to inventory.",
        ),
        click.option(
            "--max-members",
            type=click.IntRange(1),
            default=Limits.max_members,
            show_default=True,
            help="Members per container before it counts as a zip bomb.",
        ),
        click.option(
            "--max-expanded",
            type=click.IntRange(1),
            default=Limits.max_expanded,
            show_default=True,
            help="Expanded bytes per container before it counts as a bomb.",
        ),
        click.option(
            "--max-ratio",
            type=click.FloatRange(1),
            default=Limits.max_ratio,
            show_default=True,
            help="Expansion ratio per container before it counts as a bomb.",
        ),
        click.option(
            "--tmp-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Where container members are unpacked briefly (default: system temp).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _do_scan(roots: tuple[str, ...], opts: dict[str, Any]) -> list[api.ScanResult]:
    limits = Limits(
        max_depth=opts["max_depth"],
        max_members=opts["max_members"],
        max_expanded=opts["max_expanded"],
        max_ratio=opts["max_ratio"],
        tmp_dir=opts["tmp_dir"],
    )
    _check_cluster(opts)
    show = not opts["quiet"] and not opts["as_json"]
    with ScanProgress(enabled=show) as progress:
        return api.scan(
            list(roots),
            db=opts["db"],
            workers=opts["workers"],
            exclude=opts["exclude"],
            label=opts["label"],
            rehash=opts["rehash"],
            follow_symlinks=opts["follow_symlinks"],
            org_depth=opts["org_depth"],
            org_from_package=opts["org_from_package"],
            limits=limits,
            progress=progress if show else None,
            cluster=opts["cluster"],
        )


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _print_summary(result: api.ScanResult) -> None:
    s = result.summary
    run = s["this_run"]
    outcomes = s["outcomes"]
    total = sum(outcomes.values())
    click.echo(
        f"scan {result.scan_id}: {P.for_display(result.root)}"
        + (" (resumed)" if result.resumed else "")
    )
    click.echo(
        f"  {total} entries ({s['entries'].get('on_disk', 0)} on disk, "
        f"{s['entries'].get('members', 0)} in containers), {s['excluded']} excluded"
    )
    click.echo("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    if s["containers"]:
        click.echo(
            "  containers: " + ", ".join(f"{k} {v}" for k, v in sorted(s["containers"].items()))
        )
    packages = s.get("packages")
    if packages and packages["found"]:
        fixity = packages["fixity"]
        errors = f", {packages['mets_errors']} with a METS error" if packages["mets_errors"] else ""
        click.echo(
            f"  packages: {packages['found']}{errors}; fixity: {fixity['ok']} ok, "
            f"{fixity['mismatch']} mismatch, {fixity['missing']} missing, "
            f"{fixity['not_listed']} not listed, {fixity['unverified']} unverified "
            f"(of {fixity['listed']} listed; preserveplan packages)"
        )
    click.echo(
        f"  this run: {run['hashed']} read ({run['bytes_read'] / 1e6:.1f} MB), "
        f"{run['reused_unchanged']} unchanged reused, {run['identified']} identified, "
        f"{run['identification_cache_hits']} identifications reused, {run['seconds']:.1f} s"
    )
    if "changes_since" in s:
        c = s["changes_since"]
        click.echo(
            f"  since scan {c['scan']}: {c['added']} added, {c['removed']} removed, "
            f"{c['changed']} changed, {c['moved']} moved, {c['reidentified']} re-identified"
        )


@main.command()
@click.argument("archive", nargs=-1, required=True, type=click.Path(file_okay=False))
@scan_options
def scan(archive: tuple[str, ...], **opts: Any) -> None:
    """Inventory ARCHIVE(s): checksum and identify every file into the catalog.

    Unchanged files (same size and mtime as in the last complete scan) are not read again; an
    interrupted scan continues where it stopped when the same command is run again.
    """
    results = _do_scan(archive, opts)
    if opts["as_json"]:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            _print_summary(r)


@main.command()
@click.argument("archive", type=click.Path(file_okay=False))
@scan_options
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Folder for the inventory files and reports.",
)
@click.option(
    "--migrate",
    "do_migrate",
    is_flag=True,
    help="Also convert what the assessment says to migrate (needs --out).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the archival copies made by --migrate.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Ruleset YAML (default: the shipped rules/default.yaml).",
)
def run(
    archive: str,
    reports_dir: str,
    do_migrate: bool,
    out_dir: str | None,
    rules_file: str | None,
    **opts: Any,
) -> None:
    """The main job: scan ARCHIVE, assess it against the ruleset, (with --migrate) convert what
    must be migrated, and write the inventory and both reports."""
    from .rules import load_ruleset
    from .rules.assess import assess as run_assess

    if do_migrate and not out_dir:
        raise click.UsageError("--migrate needs --out DIR for the archival copies")
    ruleset = load_ruleset(rules_file)  # a broken policy stops the job before any scanning
    results = _do_scan((archive,), opts)
    result = results[0]
    migration = None
    with Catalog(opts["db"]) as catalog:
        assessment = run_assess(catalog, ruleset, result.scan_id)
        if do_migrate and out_dir:
            from .migrate.runner import migrate as run_migrate

            catalog.lock()
            show = not opts["quiet"] and not opts["as_json"]
            with ScanProgress(enabled=show, label="migrating") as progress:
                migration = run_migrate(
                    catalog,
                    out_dir,
                    scan_id=result.scan_id,
                    workers=opts["workers"],
                    progress=progress if show else None,
                    cluster=opts["cluster"],
                )
            catalog.unlock()
        written = api.write_inventory(catalog, result.scan_id, reports_dir)
        written.update(api.write_reports(catalog, result.scan_id, reports_dir))
        profile = catalog.format_profile(result.scan_id)
    if opts["as_json"]:
        click.echo(
            json.dumps(
                {
                    "scan": result.__dict__,
                    "assessment": assessment.__dict__,
                    "profile": profile,
                    "files": written,
                    "migration": migration.as_dict() if migration else None,
                }
            )
        )
        return
    _print_summary(result)
    click.echo()
    _print_assessment(assessment)
    click.echo()
    if migration is not None:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(migration.failed.items())) or "none"
        click.echo(
            f"migration run {migration.run_id}: done {migration.done}, failed: {failed}, "
            f"pending {migration.pending} -> {Path(out_dir or '').resolve()}"
        )
        click.echo()
    _print_profile(profile[:25])
    if len(profile) > 25:
        click.echo(f"… and {len(profile) - 25} more formats (preserveplan formats)")
    click.echo()
    click.echo(f"Catalog: {Path(opts['db'] or default_db_path()).resolve()}")
    for kind, path in written.items():
        click.echo(f"{kind}: {Path(path).resolve()}")


# -- import ------------------------------------------------------------------------------------
@main.group("import")
def import_group() -> None:
    """Import a profile made elsewhere (DROID, Siegfried) as a scan, without reading the files."""


def import_options(f: F) -> F:
    options = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False)),
        db_option,
        click.option(
            "--root",
            default=None,
            help="The archive root the profile's paths are relative to (default: the folder the "
            "profile was made of, else the common parent of its top-level entries).",
        ),
        label_option,
        org_depth_option,
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _print_import(result: Any) -> None:
    s = result.summary
    imp = s["import"]
    click.echo(f"scan {result.scan_id}: imported {imp['format']} {imp['source']}")
    click.echo(f"  root: {imp['root']}")
    click.echo(
        f"  {imp['files']} files on disk, {imp['members']} members of {imp['containers']} "
        f"containers; {imp['folders']} folders (counted, not stored: the catalog lists files)"
    )
    click.echo(
        f"  identified {imp['identified']}, unidentified {imp['unidentified']}; "
        f"SHA-256 for {imp['with_sha256']}, none for {imp['without_sha256']}"
    )
    click.echo("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())))
    if s["containers"]:
        click.echo(
            "  containers: " + ", ".join(f"{k} {v}" for k, v in sorted(s["containers"].items()))
        )
    skipped = sum(imp["skipped"].values())
    if skipped:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(imp["skipped"].items()))
        click.echo(f"  {skipped} rows skipped: {reasons}")
    for reason, entry in sorted(imp["warnings"].items()):
        click.echo(f"  {reason}: {entry['count']}", err=True)
        for example in entry["examples"]:
            click.echo(f"    {P.for_display(example)}", err=True)


@import_group.command("droid-csv")
@import_options
def import_droid_csv(file: str, as_json: bool, **opts: Any) -> None:
    """Import a DROID 6 CSV export (one row per file or per format; with or without hashes)."""
    from .importers import import_droid_csv as run_import

    _report_import(run_import(file, **opts), as_json)


@import_group.command("sf")
@import_options
def import_sf(file: str, as_json: bool, **opts: Any) -> None:
    """Import Siegfried output: sf -json, -yaml or -csv (recognised by content), with -z members
    and -hash sha256 checksums when present."""
    from .importers import import_siegfried as run_import

    _report_import(run_import(file, **opts), as_json)


def _report_import(result: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_import(result)


# -- reading -----------------------------------------------------------------------------------
@main.command("scans")
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def scans_cmd(db: str | None, as_json: bool) -> None:
    """List the scans in the catalog."""
    with Catalog(db, readonly=True) as catalog:
        records = catalog.scans()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2))
        return
    click.echo(f"{'id':>4}  {'status':<9} {'started':<25} {'files':>9}  root / label")
    for r in records:
        files = sum((r.summary or {}).get("outcomes", {}).values()) if r.summary else "-"
        label = f"  [{r.label}]" if r.label else ""
        origin = r.options.get("import")
        if origin:  # made elsewhere (DROID, sf) and imported: say from what
            label += f"  (imported {origin['format']}: {origin['source']})"
        click.echo(f"{r.id:>4}  {r.status:<9} {r.started_at:<25} {files:>9}  {r.root}{label}")


@main.command("packages")
@db_option
@scan_option
@click.option(
    "--problems",
    is_flag=True,
    help="List every entry that is not ok: mismatched, missing, not listed, unverified.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="JSON output (with --problems: one object per line)."
)
def packages_cmd(db: str | None, scan_id: int | None, problems: bool, as_json: bool) -> None:
    """Information packages (folders with METS.xml) found by a scan, and their fixity."""
    with Catalog(db, readonly=True) as catalog:
        record = catalog.scan(scan_id)
        if problems:
            for rec in catalog.package_problems(record.id):
                if as_json:
                    for key in ("package", "path", "mets"):
                        if rec[key] is not None:
                            rec[key] = P.to_text(rec[key])
                    click.echo(json.dumps(rec, ensure_ascii=True))
                else:
                    click.echo(
                        f"{rec['verdict']:<11} {P.for_display(rec['path'])}"
                        + (f"  ({rec['message']})" if rec["message"] else "")
                    )
            return
        rows = catalog.packages(record.id)
    if as_json:
        for row in rows:
            row["path"], row["mets_path"] = P.to_text(row["path"]), P.to_text(row["mets_path"])
        click.echo(json.dumps({"scan": record.id, "packages": rows}, indent=2))
        return
    click.echo(f"scan {record.id}: {len(rows)} information package(s)")
    for row in rows:
        kind = "; ".join(
            f"{label} {row[k]}"
            for k, label in (("content_type", "content"), ("type", "type"))
            if row[k]
        )
        click.echo(
            f"  {P.for_display(row['path']) or '(root)'}  id {row['package_id']}"
            + (f"  [{kind}]" if kind else "")
        )
        click.echo(
            f"    listed {row['listed']}: ok {row['ok']}, mismatch {row['mismatched']}, "
            f"missing {row['missing']}; not listed {row['unlisted']}, "
            f"unverified {row['unverified']}"
        )
        if row["error"]:
            click.echo(f"    METS error: {row['error']}")
        for warning in row["warnings"][:5]:
            click.echo(f"    warning: {warning}")


@main.command("migrations")
@db_option
@click.option("--run", "run_id", type=int, help="Migration run id (default: the newest).")
@click.option(
    "--state",
    "states",
    type=click.Choice(["pending", "done", "failed"]),
    multiple=True,
    help="Only files in this state (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def migrations_cmd(
    db: str | None, run_id: int | None, states: tuple[str, ...], as_json: bool, as_csv: bool
) -> None:
    """A migration run's journal, file by file: each source and target with its tool, state,
    outcome and message, and the output with its checksum and PUID. For example the failures
    of the newest run: ``preserveplan migrations --state failed``."""
    from .catalog import JOURNAL_FIELDS

    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    with Catalog(db, readonly=True) as catalog:
        run = catalog.migration_run_id(run_id)
        rows = catalog.journal(run, states)
        if as_csv:
            fields = ["run", *JOURNAL_FIELDS, "path_b64", "output_b64"]
            out = csv.DictWriter(sys.stdout, fieldnames=fields)
            out.writeheader()
        shown = 0
        for row in rows:
            shown += 1
            if as_json or as_csv:
                # as in export: text, and the exact bytes in base64 when a name is not UTF-8
                for key in ("path", "output"):
                    raw = bytes(row[key])
                    row[key] = P.escaped(raw)
                    row[f"{key}_b64"] = None if P.is_clean_utf8(raw) else P.b64(raw)
                if as_json:
                    click.echo(json.dumps({"run": run, **row}, ensure_ascii=True))
                else:
                    out.writerow({"run": run, **row})
                continue
            message = f"  ({row['message']})" if row["message"] and row["state"] != "done" else ""
            click.echo(
                f"{row['state']:<8} {row['outcome'] or '-':<14} {P.for_display(row['path'])}"
                f" -> {P.for_display(row['output'])}{message}"
            )
    if not (as_json or as_csv):
        which = f" ({', '.join(states)})" if states else ""
        click.echo(f"migration run {run}: {shown} file(s){which}", err=True)


def _print_profile(rows: list[dict[str, Any]]) -> None:
    by_org = rows and "org" in rows[0]
    head = f"{'org':<16} " if by_org else ""
    click.echo(f"{head}{'PUID':<11} {'files':>8} {'bytes':>14}  format (version)")
    for r in rows:
        org = f"{(r['org'] or '(root)')[:16]:<16} " if by_org else ""
        name = r["format"] or ("no identification" if not r["puid"] else "")
        version = f" ({r['version']})" if r["version"] else ""
        click.echo(f"{org}{r['puid'] or '-':<11} {r['files']:>8} {r['bytes']:>14}  {name}{version}")


@main.command()
@db_option
@scan_option
@click.option("--by", type=click.Choice(["format", "org"]), default="format", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
def formats(db: str | None, scan_id: int | None, by: str, as_json: bool, as_csv: bool) -> None:
    """The format profile of a scan: PUID, name, version, files, bytes."""
    with Catalog(db, readonly=True) as catalog:
        record = catalog.scan(scan_id)
        rows = catalog.format_profile(record.id, by_org=by == "org")
    if as_json:
        click.echo(json.dumps({"scan": record.id, "formats": rows}, indent=2, ensure_ascii=False))
    elif as_csv:
        if rows:
            out = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            out.writeheader()
            out.writerows(rows)
    else:
        _print_profile(rows)


@main.command()
@db_option
@scan_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl, csv, DROID-compatible CSV, or Parquet.",
)
@click.option("-o", "--output", default="-", show_default=True, help="Output file ('-': stdout).")
def export(db: str | None, scan_id: int | None, fmt: str, output: str) -> None:
    """Export per-file records of a scan."""
    with Catalog(db, readonly=True) as catalog:
        record = catalog.scan(scan_id)
        try:
            n = api.export(catalog, record.id, fmt, output)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if output != "-":
        click.echo(f"{n} records of scan {record.id} written to {output}", err=True)


@main.command()
@click.argument("scan_a", type=int)
@click.argument("scan_b", type=int)
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(["added", "removed", "changed", "moved", "reidentified"]),
    help="Show only these kinds of change (repeatable).",
)
def diff(scan_a: int, scan_b: int, db: str | None, as_json: bool, only: tuple[str, ...]) -> None:
    """What changed from SCAN_A to SCAN_B: added, removed, changed, moved, re-identified."""
    with Catalog(db, readonly=True) as catalog:
        catalog.scan(scan_a)
        catalog.scan(scan_b)
        counts: dict[str, int] = {}
        for rec in catalog.diff(scan_a, scan_b):
            if only and rec["change"] not in only:
                continue
            counts[rec["change"]] = counts.get(rec["change"], 0) + 1
            if as_json:
                out = {k: (P.to_text(v) if isinstance(v, bytes) else v) for k, v in rec.items()}
                click.echo(json.dumps(out, ensure_ascii=True))
                continue
            line = f"{rec['change']:<13} {P.for_display(rec['path'])}"
            if rec["old_path"] is not None:
                line += f"  (from {P.for_display(rec['old_path'])})"
            if (
                rec["change"] in ("reidentified", "changed")
                and rec["puid_before"] != rec["puid_after"]
            ):
                line += f"  {rec['puid_before'] or '-'} -> {rec['puid_after'] or '-'}"
            click.echo(line)
    if not as_json:
        total = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no changes"
        click.echo(f"scan {scan_a} -> {scan_b}: {total}", err=True)


# -- rules -------------------------------------------------------------------------------------
def rules_option(f: F) -> F:
    return click.option(
        "--rules",
        "rules_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Ruleset YAML (default: the shipped rules/default.yaml).",
    )(f)


@main.group()
def rules() -> None:
    """Preservation rulesets: check, show and explain them."""


@rules.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
def rules_check(files: tuple[str, ...]) -> None:
    """Validate ruleset FILES (default: the shipped one); exit 1 listing every problem."""
    from .rules import check, default_rules_path

    paths: list[str | Path] = list(files) or [default_rules_path()]
    problems = check(paths)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    for path in paths:
        click.echo(f"ok: {path}")


@rules.command("show")
@rules_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def rules_show(rules_file: str | None, as_json: bool) -> None:
    """List the rules in force (after `extends`), most specific match first."""
    from .rules import load_ruleset

    ruleset = load_ruleset(rules_file)
    if as_json:
        click.echo(json.dumps(ruleset.as_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{ruleset.name} {ruleset.version} ({len(ruleset.rules)} rules; "
        f"{' <- '.join(ruleset.chain)})"
    )
    for r in ruleset.rules:
        action = (
            f"  -> {r.action.tool}: {r.action.target} ({r.action.target_puid})" if r.action else ""
        )
        values = ", ".join(r.values[:6]) + (" …" if len(r.values) > 6 else "")
        click.echo(f"{r.id:<28} {r.status:<12} {r.risk:<8} {r.match_key}: {values}{action}")


@rules.command("explain")
@click.argument("what")
@rules_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def rules_explain(what: str, rules_file: str | None, as_json: bool) -> None:
    """Which rule applies to WHAT (a PUID, or a file that is identified now) and why."""
    from .pronom import formats, is_puid, label
    from .rules import load_ruleset

    ruleset = load_ruleset(rules_file)
    ident: dict[str, Any]
    if is_puid(what):
        fmt = formats().get(what)
        ident = {
            "puid": what,
            "format": label(what),
            "mime": fmt.mime if fmt else None,
            "class": fmt.klass if fmt else None,
            "ext": None,
            "warning": None,
            "match_count": 1,
        }
    elif Path(what).is_file():
        from .inventory.identify import Identifier

        ident = Identifier().identify([os.fsencode(what)])[0]
        ident["ext"] = P.extension(os.fsencode(what))
    else:
        raise click.UsageError(f"{what!r} is neither a PUID nor a file")
    rule = ruleset.match(ident.get("puid"), ident.get("mime"), ident.get("ext"), ident.get("class"))
    finding = None
    if not ident.get("puid") or ident.get("puid") == "UNKNOWN":
        finding = "unidentified"
    elif (ident.get("match_count") or 0) > 1:
        finding = "multiple_matches"
    elif "extension mismatch" in (ident.get("warning") or ""):
        finding = "extension_mismatch"
    out: dict[str, Any] = {
        "input": what,
        "identification": {
            k: ident.get(k)
            for k in ("puid", "format", "version", "mime", "class", "basis", "warning")
        },
        "ruleset": f"{ruleset.name} {ruleset.version}",
        "rule": None,
        "finding": None,
    }
    if rule is not None:
        out["rule"] = {
            "id": rule.id,
            "title": rule.title,
            "matched_on": rule.match_key,
            "status": rule.status,
            "risk": rule.risk,
            "action": rule.action.__dict__ if rule.action else None,
            "rationale": rule.rationale,
            "source": rule.source,
            "defined_at": rule.origin,
        }
    if finding is not None and finding in ruleset.findings:
        f = ruleset.findings[finding]
        out["finding"] = {"finding": finding, **f.__dict__}
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    idn = out["identification"]
    click.echo(f"{what}: {idn['puid'] or 'no identification'} {idn.get('format') or ''}".rstrip())
    if rule is None:
        click.echo(f"  no rule in {out['ruleset']} matches: status unknown")
    else:
        click.echo(f"  rule {rule.id} ({rule.match_key} match, {rule.origin})")
        click.echo(f"  status {rule.status}, risk {rule.risk}")
        if rule.action:
            click.echo(
                f"  action: {rule.action.tool} -> {rule.action.target} ({rule.action.target_puid})"
                + "".join(f" + {o.target} ({o.target_puid})" for o in rule.action.also)
                + ("" if rule.action.keep_original else ", original not kept")
            )
        click.echo(f"  why: {rule.rationale}")
        click.echo(f"  source: {rule.source}")
    if out["finding"]:
        f = out["finding"]
        click.echo(
            f"  finding {f['finding']}: status {f['status']}, risk {f['risk']} — "
            f"{f['rationale']} ({f['source']})"
        )


@rules.command("import-nara")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Ruleset YAML."
)
def rules_import_nara(csv_file: str, output: str) -> None:
    """Turn NARA's preservation plan spreadsheet (CSV) into a ruleset that can be used or
    extended."""
    from .rules import check
    from .rules.nara import import_nara

    report = import_nara(csv_file, output)
    click.echo(
        f"{report.rules} rules from {report.rows} rows ({report.merged_puids} PUIDs merged from "
        f"several rows, {len(report.skipped)} rows skipped) -> {output}"
    )
    for line in report.skipped:
        click.echo(f"  skipped {line}", err=True)
    problems = check([output])
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        sys.exit(1)


@main.command()
@db_option
@scan_option
@rules_option
@click.option(
    "--dry-run", is_flag=True, help="Show the outcome (and what changes) without storing it."
)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def assess(
    db: str | None, scan_id: int | None, rules_file: str | None, dry_run: bool, as_json: bool
) -> None:
    """Apply a ruleset to a scan: status and risk for every file, stored in the catalog."""
    from .rules import load_ruleset
    from .rules.assess import assess as run_assess

    ruleset = load_ruleset(rules_file)
    with Catalog(db) as catalog:
        result = run_assess(catalog, ruleset, scan_id, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.__dict__, indent=2, ensure_ascii=False))
        return
    _print_assessment(result)


def _print_assessment(result: Any) -> None:
    what = "dry run (not stored)" if result.id is None else f"assessment {result.id}"
    click.echo(f"{what}: scan {result.scan_id} with {result.ruleset} {result.ruleset_version}")
    s = result.summary
    for key in ("status", "risk"):
        cells = ", ".join(
            f"{k} {v['files']} ({v['bytes'] / 1e6:.1f} MB)" for k, v in sorted(s[key].items())
        )
        click.echo(f"  {key}: {cells}")
    if s["findings"]:
        click.echo("  findings: " + ", ".join(f"{k} {v}" for k, v in sorted(s["findings"].items())))
    for org, cell in sorted(s["by_org"].items()):
        for key in ("status", "risk"):
            cells = ", ".join(
                f"{k} {v['files']} ({v['bytes'] / 1e6:.1f} MB)"
                for k, v in sorted(cell[key].items())
            )
            click.echo(f"  {org or '(root)'} {key}: {cells}")
    if result.changes is not None:
        moved = ", ".join(f"{k}: {v}" for k, v in sorted(result.changes.items())) or "no changes"
        click.echo(f"  compared with the last stored assessment: {moved}")


@main.command()
@db_option
@scan_option
@click.option("--only", default=None, metavar="RULE|ORG", help="Only one rule id or organisation.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output (one line per rule and org).")
def plan(
    db: str | None, scan_id: int | None, only: str | None, as_json: bool, as_csv: bool
) -> None:
    """The migration plan from the newest assessment: files, bytes, estimated output and time per
    rule and organisation, and whether each tool is installed. Writes nothing."""
    from .migrate.plan import make_plan

    with Catalog(db, readonly=True) as catalog:
        result = make_plan(catalog, scan_id, only)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    if as_csv:
        out = csv.DictWriter(
            sys.stdout,
            fieldnames=[
                "rule",
                "org",
                "tool",
                "target",
                "target_puid",
                "files",
                "bytes",
                "est_output_bytes",
                "est_seconds",
            ],
        )
        out.writeheader()
        for line in result.lines:
            out.writerow(line.__dict__)
        return
    click.echo(
        f"migration plan: scan {result.scan_id}, assessment {result.assessment_id} "
        f"({result.ruleset})"
    )
    click.echo(
        f"{'rule':<24} {'tool':<12} {'target':<9} {'files':>8} {'input':>10} {'output*':>10} "
        f"{'time*':>9}"
    )
    for row in result.totals("rule"):
        line = next(x for x in result.lines if x.rule == row["rule"])
        click.echo(
            f"{row['rule']:<24} {line.tool:<12} {line.target:<9} {row['files']:>8} "
            f"{_size(row['bytes']):>10} {_size(row['est_output_bytes']):>10} "
            f"{_duration(row['est_seconds']):>9}"
        )
    click.echo("per organisation:")
    for row in result.totals("org"):
        click.echo(
            f"  {row['org'] or '(root)':<22} {row['files']:>8} files {_size(row['bytes']):>10} "
            f"~{_duration(row['est_seconds'])}"
        )
    kinds = ", ".join(f"{t} {r['source']}" for t, r in result.rates.items())
    click.echo(
        f"* estimates from rates: {kinds or 'none'}"
        + (" (run 'preserveplan calibrate' to measure)" if "default" in kinds else "")
    )
    if result.in_containers:
        click.echo(f"{result.in_containers} files to migrate are inside containers: extract first")
    for tool, hint in result.missing_tools.items():
        click.echo(f"tool {tool} is missing: {hint}", err=True)
    if result.missing_tools:
        sys.exit(1)


@main.command()
@db_option
@scan_option
@click.option(
    "--kind",
    type=click.Choice(["specialist", "management"]),
    default="specialist",
    show_default=True,
    help="Detail for specialists, or the summary for management.",
)
@click.option(
    "--lang",
    type=click.Choice(["sv", "en"]),
    default=None,
    help="Language (default: sv for management, en for specialists).",
)
@click.option(
    "--compare",
    type=int,
    default=None,
    metavar="SCAN_ID",
    help="Earlier scan to compare with (default: the previous scan of the root).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file (default: reports/<kind>-<scan>-<date>.html).",
)
def report(
    db: str | None,
    scan_id: int | None,
    kind: str,
    lang: str | None,
    compare: int | None,
    output: str | None,
) -> None:
    """Write a self-contained HTML report (inline CSS and SVG, prints well)."""
    from .report import write_report

    with Catalog(db, readonly=True) as catalog:
        path = write_report(catalog, kind, scan_id, lang, output, compare)
    click.echo(str(path.resolve()))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--puid", "expected_puid", default=None, help="The PUID each file must be.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def validate(files: tuple[str, ...], expected_puid: str | None, as_json: bool) -> None:
    """Check FILES the way migration outputs are checked: identification, and for PDF/A the
    structural rules of ISO 19005 (veraPDF instead when it is on PATH). Exit 1 if any fails."""
    from .migrate.validate import validate_file

    bad = 0
    for name in files:
        result = validate_file(Path(name), expected_puid)
        bad += not result.valid
        if as_json:
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
            continue
        verdict = "valid" if result.valid else "INVALID"
        click.echo(f"{verdict:<8} {result.puid or '-':<10} {result.profile or '-':<9} {name}")
        for problem in result.errors:
            click.echo(f"           {problem.clause}: {problem.message}")
    if bad:
        sys.exit(1)


@main.command()
@db_option
@scan_option
@click.option(
    "--files",
    "per_tool",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Files per tool to convert.",
)
@click.option("--tool", "tools", multiple=True, help="Only these tools (repeatable).")
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=600,
    show_default=True,
    help="Seconds per conversion.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def calibrate(
    db: str | None,
    scan_id: int | None,
    per_tool: int,
    tools: tuple[str, ...],
    timeout: float,
    as_json: bool,
) -> None:
    """Measure each converter on a few of the archive's own files (outputs go to a temporary
    folder and are deleted) and store the rates that `plan` estimates with."""
    from .migrate.calibrate import calibrate as run_calibrate

    with Catalog(db) as catalog:
        results = run_calibrate(catalog, scan_id, per_tool=per_tool, timeout=timeout, tools=tools)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("nothing to calibrate: no migrate rules with installed tools in the assessment")
    for r in results:
        click.echo(
            f"{r.tool:<12} {r.converted}/{r.samples} converted: {r.seconds_per_file:.2f} s/file "
            f"+ {r.seconds_per_mb:.2f} s/MB, output {r.output_ratio:.2f}× input  ({r.tool_version})"
        )
        for failure in r.failures:
            click.echo(f"  failed {failure}", err=True)


@main.command()
@db_option
@scan_option
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the archival copies (mirrors the archive's paths).",
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(1, 64),
    default=None,
    help="Parallel conversions (default: all cores).",
)
@cluster_option
@click.option("--only", default=None, metavar="RULE|ORG", help="Only one rule id or organisation.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Convert at most N files now.")
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=300,
    show_default=True,
    help="Seconds per conversion (plus one per MB of input).",
)
@click.option("--retry-failed", is_flag=True, help="Try the failed files of this run again.")
@click.option("--dry-run", is_flag=True, help="Fill the journal and say what would be done.")
@click.option(
    "--inline-checks",
    is_flag=True,
    help="Validate outputs in the conversion processes (no separate check processes: half "
    "the processes and memory, but each conversion waits for the previous file's checks).",
)
@click.option(
    "--premis",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the run's provenance as PREMIS 3 XML.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON.")
def migrate(
    db: str | None,
    scan_id: int | None,
    out_dir: str,
    workers: int | None,
    cluster: str | None,
    only: str | None,
    limit: int | None,
    timeout: float,
    retry_failed: bool,
    dry_run: bool,
    inline_checks: bool,
    premis: str | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Convert what the assessment says to migrate, validate every output, record provenance.
    Run the same command again to resume; finished files are not redone."""
    from .migrate.runner import migrate as run_migrate

    _check_cluster({"cluster": cluster, "workers": workers})
    show = not quiet and not as_json and not dry_run
    with Catalog(db) as catalog, ScanProgress(enabled=show, label="migrating") as progress:
        catalog.lock()
        summary = run_migrate(
            catalog,
            out_dir,
            scan_id=scan_id,
            workers=workers,
            only=only,
            limit=limit,
            timeout=timeout,
            retry_failed=retry_failed,
            dry_run=dry_run,
            progress=progress if show else None,
            cluster=cluster,
            check_processes=not inline_checks,
        )
        if premis:
            from .migrate.premis import write_premis

            write_premis(catalog, summary.run_id, premis)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(summary.failed.items())) or "none"
        click.echo(
            f"migration run {summary.run_id}{' (resumed)' if summary.resumed else ''}: "
            f"{summary.total} conversions in the plan; done {summary.done}, failed: {failed}, "
            f"pending {summary.pending}; {_size(summary.bytes_in)} in, "
            f"{_size(summary.bytes_out)} out; {summary.this_run} converted now"
        )
        if premis:
            click.echo(f"PREMIS: {Path(premis).resolve()}")
    if summary.stopped:
        click.echo(f"stopped: {summary.stopped}", err=True)
        sys.exit(1)


@main.command()
@click.argument("target")
@db_option
@scan_option
@click.option(
    "--status",
    type=click.Choice(["preservation", "acceptable", "migrate", "at-risk", "unknown"]),
    required=True,
)
@click.option("--risk", type=click.Choice(["low", "moderate", "high"]), default=None)
@click.option("--reason", required=True, help='Why, e.g. "accepted by decision 2026-03".')
def override(
    target: str, db: str | None, scan_id: int | None, status: str, risk: str | None, reason: str
) -> None:
    """Record a manual decision for a file (PATH in a scan, or its SHA256); it applies to every
    later assessment for as long as that content is in the archive."""
    from .rules.assess import _who

    with Catalog(db) as catalog:
        hint: str | None = None
        if len(target) == 64 and all(c in "0123456789abcdef" for c in target.lower()):
            sha = target.lower()
        else:
            record = catalog.scan(scan_id)
            found = catalog.sha256_of(record.id, os.fsencode(target))
            if found is None:
                raise click.UsageError(f"{target!r} is not a checksummed file of scan {record.id}")
            sha, hint = found, target
        oid = catalog.add_override(sha, status, risk, reason, _who(), hint)
    click.echo(f"override {oid}: {sha[:12]}… -> {status} ({reason})")


@main.command("overrides")
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def overrides_cmd(db: str | None, as_json: bool) -> None:
    """List manual decisions, with who made them and when."""
    with Catalog(db, readonly=True) as catalog:
        rows = catalog.overrides()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r['id']:>4} {r['created_at']} {r['who']:<10} {r['status']:<12} {r['sha256'][:12]}… "
            f"{r['path_hint'] or ''}  {r['reason']}"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
