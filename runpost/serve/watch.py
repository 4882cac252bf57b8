"""Which file changes trigger a rebuild, and which file to name in the log.

Editors save in ways that touch more than the file: a temp file renamed over
it (`.index.md.tmp`, `4913`, `.goutputstream-*`), swap and backup files, lock
files. Those never trigger a rebuild and are never named; a rename names its
destination, the file the user edited.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

IGNORED_PARTS = ("__pycache__", ".git", ".ipynb_checkpoints")
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".pyc", ".bak", ".crdownload", ".part")


def watch(paths: list[Path], on_change: Callable[[Path], None], project: Path | None = None,
          never: tuple[Path, ...] = ()):
    """Call on_change(path) for every change under the given folders and files.

    A linked folder under them (a bundle `content/posts/x -> ../../shared/x`) is watched where it
    leads, if that is inside `project` (inotify does not follow links; one leading outside is an
    error of the build, which the link's creation rebuilds to show). Never into `never` (the results
    and preview folders, which builds write: a link there is the build's error, not a reason to
    watch each write)."""
    try:
        from watchdog import events
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        print("warning: watchdog is not installed (pip install 'runpost[serve]'); "
              "serving without rebuilding on change", file=sys.stderr)
        return None

    # watchdog logs an error when a watched folder goes while its watch is being set up (a script
    # remaking data/): a race it survives, and this module handles, not a line for the writer's terminal.
    logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
    files = {path.resolve() for path in paths if path.is_file() or path.suffix}
    folders = [path.resolve() for path in paths if path.is_dir()]
    # Folders that do not exist yet (a new blog has no static/ or templates/), or no longer (a
    # checkout deleted and made one again): their parent is watched, and once one appears it is
    # watched too, and the site rebuilt with what it holds.
    missing = {path.resolve() for path in paths if not path.exists() and not path.suffix}
    watches: dict[Path, object] = {}       # each watched folder's watch, to end when it goes
    # The declared inputs as the last build read them (watch_inputs): the paths asked for, the files
    # and folders that are changes, and the folders they lie in (made or gone is a change too).
    inputs: dict[str, Any] = {"asked": [], "files": set(), "folders": [], "ancestors": set()}
    input_watches: dict[Path, tuple[object, int]] = {}   # a folder watched for inputs -> (its watch, its inode)
    remade: set[Path] = set()              # input folders deleted, made or moved since the last watch_inputs
    # The build's own folders (results, the preview): what it writes there is never a change, even
    # inside a declared folder (`inputs: [../../..]`, the project, had each build start the next).
    outside = [Path(folder).resolve() for folder in never]

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            # The watcher's thread must outlive any event (a symbolic link loop made in a watched
            # folder raised in Path.resolve and ended it: no rebuild again until a restart).
            try:
                self.handle(event)
            except Exception:      # what the event means is unclear: build, and let the build say
                on_change(Path(os.path.abspath(getattr(event, "dest_path", "") or event.src_path)))

        def handle(self, event) -> None:
            if event.event_type in ("opened", "closed", "closed_no_write"):
                return
            if event.is_directory and event.event_type in ("deleted", "moved"):
                gone = Path(event.src_path).resolve()
                if gone in folders:
                    # Its watch ended with it. Made again already (this event came late)? Then watch
                    # the new folder; else wait for it to come back.
                    end_watch(gone)
                    if gone.exists():
                        start_watch(gone)
                    else:
                        folders.remove(gone)
                        missing.add(gone)
                    on_change(gone)
                    return
            if event.is_directory and event.event_type in ("created", "moved"):
                made = Path(getattr(event, "dest_path", "") or event.src_path).resolve()
                if made in missing or (made in folders and event.event_type == "created"):
                    # Made (again): a new watch, as the old one (if its deletion is yet to come) is dead.
                    missing.discard(made)
                    if made not in folders:
                        folders.append(made)
                    end_watch(made)
                    start_watch(made)
                    on_change(made)
                    return
            named = [Path(os.path.abspath(raw)) for raw in (getattr(event, "dest_path", ""), event.src_path) if raw]
            if event.is_directory and event.event_type in ("created", "deleted", "moved") and any(
                    path in inputs["ancestors"] or path in inputs["folders"]
                    or path in inputs["files"] for path in named):          # (a declared file made a folder)
                remade.update(named)          # its watches (a deleted folder's end with it) made again
                on_change(named[0])           # data/ made anew: built, and watched again
                return
            if event.is_directory and event.event_type == "modified":
                return  # the file event inside it names what changed
            if event.event_type in ("created", "moved"):
                made = Path(getattr(event, "dest_path", "") or event.src_path)
                if any(Path(os.path.abspath(made)).is_relative_to(folder) for folder in folders):
                    follow_links(made)      # not at the project's root, watched only for runpost.toml
            # A rename (the editor's temp file over the real one) names the real one: dest first.
            for raw in (getattr(event, "dest_path", ""), event.src_path):
                if raw and (_is_relevant(Path(raw), files, folders)
                            or _is_input(Path(raw), inputs["files"], inputs["folders"], outside)):
                    on_change(Path(raw))
                    return

    # Only changes: without a filter inotify also reports every open, read and close, and
    # a rebuild reads every source, so the watcher thread woke for each file the build read
    # and took the GIL from it (serve's rebuild at 1,080 posts: 0.70 s with, 0.4 s without).
    # A metadata change (`touch`, `chmod +r` on an unreadable post) is a FileAttribEvent in
    # newer watchdog (7.1 here), a modification in older ones: both are asked for.
    changes = [events.FileCreatedEvent, events.FileModifiedEvent, events.FileDeletedEvent, events.FileMovedEvent,
               events.DirCreatedEvent, events.DirDeletedEvent, events.DirMovedEvent,
               *filter(None, [getattr(events, "FileAttribEvent", None)])]
    observer = Observer()
    handler = Handler()

    def start_watch(folder: Path) -> None:
        watches[folder] = observer.schedule(handler, str(folder), recursive=True, event_filter=changes)

    def follow_links(where: Path) -> None:
        """Watch where the linked folders at or under `where` lead (inside the project, not watched yet)."""
        found = [where] if where.is_symlink() else []
        if where.is_dir() and not where.is_symlink():
            for directory, names, files_here in os.walk(where):
                found += [Path(directory, name) for name in [*names, *files_here]
                          if os.path.islink(os.path.join(directory, name))]
        for link in found:
            try:
                target = link.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            inside = project is not None and target.is_relative_to(project.resolve()) \
                and not any(target.is_relative_to(folder.resolve()) or folder.resolve().is_relative_to(target)
                            for folder in never)
            if not inside or any(target.is_relative_to(folder) for folder in folders):
                continue
            if target.is_dir():
                folders.append(target)
                start_watch(target)
                follow_links(target)
            elif target not in files:         # a linked post file: its folder is watched for it alone
                files.add(target)
                if target.parent not in parents:
                    parents.add(target.parent)
                    observer.schedule(handler, str(target.parent), recursive=False, event_filter=changes)

    def end_watch(folder: Path) -> None:
        if folder in watches:
            try:
                observer.unschedule(watches.pop(folder))
            except (KeyError, OSError):
                pass
    # Single files (runpost.toml) and folders (to be, or that may go and come back): watch their
    # folder, filter by name.
    parents = {path.parent for path in [*files, *missing, *folders]} - set(folders)
    for folder in list(folders):
        start_watch(folder)
    for parent in parents:
        observer.schedule(handler, str(parent), recursive=False, event_filter=changes)
    for folder in list(folders):
        follow_links(folder)

    def watch_inputs(paths: list[Path]) -> None:
        """Watch the inputs posts declare (`inputs:`) wherever in the project they are (a shared
        data/ folder), as the last build read them: called after every build's reading of the posts,
        and what a post no longer declares is no longer a change. A file is watched in its folder, a
        link and where it leads both; one whose folder is not there (yet, or any more: a script that
        deletes and remakes data/) in the nearest folder that is, whose making is then a change, and
        the next build watches further. A folder is watched with all it holds."""
        wanted = list(dict.fromkeys(Path(os.path.abspath(path)) for path in paths))
        asked = [(path, _chain(path)) for path in wanted]       # a link re-pointed leads elsewhere
        if asked == inputs["asked"] and not remade:
            return                    # as last time: nothing to do (serve asks after every edit)
        found_files: set[Path] = set()
        found_folders: list[Path] = []
        ancestors: set[Path] = set()
        root = project.resolve() if project is not None else None
        for path, chain in asked:
            for target in chain:                     # the path, each link on the way, where it leads
                if any(target.is_relative_to(folder) for folder in outside):
                    continue
                if any(target.is_relative_to(folder) for folder in folders):     # content/: watched already,
                    (found_folders.append if target.is_dir() else found_files.add)(target)    # a change by any name
                    continue
                ancestors.update(parent for parent in target.parents if root is None or parent.is_relative_to(root))
                if target.is_dir() and not target.is_symlink():
                    found_folders.append(target)
                    if any(folder.is_relative_to(target) for folder in outside):
                        continue      # the whole project (`inputs: [../../..]`): not the build's own writes
                    if target not in watches or remade_around(target):
                        end_watch(target)
                        try:
                            start_watch(target)
                        except OSError:          # gone again already: its folder's event comes
                            continue
                        follow_links(target)     # a linked folder inside it is read by the build too
                    target = target.parent       # and its folder, for its going and coming back
                else:
                    found_files.add(target)
                    target = target.parent
                while not target.is_dir() and target != target.parent:
                    target = target.parent
                if root is None or target.is_relative_to(root):      # (the folder above the project: no)
                    watch_folder(target)
        inputs.update(asked=asked, files=found_files, folders=found_folders, ancestors=ancestors)
        remade.clear()

    def remade_around(folder: Path) -> bool:
        """Whether the folder, or one it lies in, was deleted, made or moved since the last watch_inputs."""
        return any(folder.is_relative_to(changed) for changed in remade)

    def watch_folder(folder: Path) -> None:
        """A folder watched for the input files in it, watched anew if it was made anew since (the
        watch of a deleted folder ends with it; a new folder may reuse its inode)."""
        try:
            inode = folder.stat().st_ino
        except OSError:
            return
        known = input_watches.get(folder)
        if known is not None and known[1] == inode and not remade_around(folder):
            return
        if known is not None:
            try:
                observer.unschedule(known[0])
            except (KeyError, OSError):
                pass
        try:
            input_watches[folder] = (observer.schedule(handler, str(folder), recursive=False, event_filter=changes), inode)
        except OSError:       # deleted since (a script remaking data/): its parent's event says so
            input_watches.pop(folder, None)

    observer.watch_inputs = watch_inputs       # Preview calls it after each build's reading of the posts
    observer.daemon = True
    observer.start()
    return observer


def is_editor_file(path: Path) -> bool:
    """Temp, swap, backup and lock files editors leave beside the file being edited."""
    name = path.name
    return (name.endswith(IGNORED_SUFFIXES) or name.startswith((".", "#")) or name.endswith("#")
            or name == "4913" or _TEMPORARY.search(name) is not None or any(part in IGNORED_PARTS for part in path.parts))


# `.tmp` then the end, a dash, a dot or a digit (`x.md.tmp.1234`, `x.tmp-5`), not a word (`table.tmpl.html`).
_TEMPORARY = re.compile(r"\.tmp(?![A-Za-z_])")


def _chain(path: Path) -> tuple[Path, ...]:
    """`path`, each symbolic link it leads through (`chain1 -> chain2 -> data/d2`), and where it leads
    in the end: each is watched, as re-pointing any of them changes what the build reads."""
    found = [path]
    for _ in range(40):                       # the kernel's own limit on links followed
        try:
            target = os.readlink(found[-1])
        except OSError:
            break
        following = Path(os.path.abspath(os.path.join(os.path.dirname(found[-1]), target)))
        if following in found:                # a loop: the build reports it
            break
        found.append(following)
    try:
        found.append(path.resolve())          # links in the folders on the way too
    except (OSError, RuntimeError):
        pass
    return tuple(dict.fromkeys(found))


def _as_named_and_led(path: Path) -> set[Path]:
    """The path as written (a link made under content/: where it leads may be anywhere) and where
    it leads (the path as written alone where it cannot be followed: a symbolic link loop)."""
    candidates = {Path(os.path.abspath(path))}
    try:
        candidates.add(path.resolve())
    except (OSError, RuntimeError):
        pass
    return candidates


def _is_input(path: Path, files: set[Path], folders: list[Path], outside: list[Path] = ()) -> bool:
    """Whether `path` is a declared input, or in one, whatever its name (`.baseline.csv` is data,
    not an editor's file, once a post declares it); never in the build's own folders (`outside`)."""
    return any((candidate in files or any(candidate.is_relative_to(folder) for folder in folders))
               and not any(candidate.is_relative_to(folder) for folder in outside) for candidate in _as_named_and_led(path))


def _is_relevant(path: Path, files: set[Path], folders: list[Path]) -> bool:
    if is_editor_file(path):
        return False
    return any(candidate in files or any(candidate.is_relative_to(folder) for folder in folders)
               for candidate in _as_named_and_led(path))


def shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):          # elsewhere, or a symbolic link loop
        return str(path)
