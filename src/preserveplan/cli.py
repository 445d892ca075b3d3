"""The ``preserveplan`` command line: thin wrappers over the Python API.

Exit codes: 0 done; 1 failure; 2 usage error (bad arguments, missing root, unknown scan);
3 catalog error; 4 catalog locked by another process; 130 interrupted (the scan resumes when
the same command is run again).
"""

from __future__ import annotations

import csv
import json
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
        click.option("--label", default=None, help="A note kept with the scan record."),
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
        click.option(
            "--org-depth",
            type=click.IntRange(0, 10),
            default=1,
            show_default=True,
            help="How many top-level folders name the organisation (municipality).",
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
            limits=limits,
            progress=progress if show else None,
        )


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
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Folder for the inventory files.",
)
def run(archive: str, out_dir: str, **opts: Any) -> None:
    """The main job: scan ARCHIVE and write its format profile and inventory."""
    results = _do_scan((archive,), opts)
    result = results[0]
    with Catalog(opts["db"]) as catalog:
        written = api.write_inventory(catalog, result.scan_id, out_dir)
        profile = catalog.format_profile(result.scan_id)
    if opts["as_json"]:
        click.echo(json.dumps({"scan": result.__dict__, "profile": profile, "files": written}))
        return
    _print_summary(result)
    click.echo()
    _print_profile(profile[:25])
    if len(profile) > 25:
        click.echo(f"… and {len(profile) - 25} more formats (preserveplan formats)")
    click.echo()
    click.echo(f"Catalog: {Path(opts['db'] or default_db_path()).resolve()}")
    for kind, path in written.items():
        click.echo(f"{kind}: {Path(path).resolve()}")


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
        click.echo(f"{r.id:>4}  {r.status:<9} {r.started_at:<25} {files:>9}  {r.root}{label}")


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


if __name__ == "__main__":  # pragma: no cover
    main()
