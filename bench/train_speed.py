"""How much faster the article trains than the seed's original loop, same models and math.

    python bench/train_speed.py [--iterations 300] [--repeats 3]

Reference: the seed's loop. torchvision's FashionMNIST dataset (reading the
same .gz files, ToTensor per image), DataLoader(batch_size=100, shuffle=True),
then a test evaluation through a DataLoader (batch 100, under no_grad, which
favours the reference); torch's default thread count; the four models one
after another, as the seed ran them.

Ours: the article's own code, executed from content/posts/rnn-vs-lstm/index.md
(its blocks up to the driver), with epochs=1 and train_size = iterations x 100
so that `train(name)` does exactly `iterations` SGD steps and one test
evaluation: in-memory tensors, one thread per process, the four models in
parallel processes (one per core), as the build runs them.

Each model's time is the median over --repeats runs, each run in a fresh
forked process. Printed ratios are ours / reference: below 1 is faster.
A script, not a test: timings on a shared machine are noisy, so both sides
are measured in the same run, interleaved.
"""
from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection  # .wait(), used below
import os
import re
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "content" / "posts" / "rnn-vs-lstm"
sys.path[:0] = [str(ROOT), str(ARTICLE)]

import runpost  # noqa: E402
from runpost.content.load import parse_post  # noqa: E402

# Both block forms the engine executes: fenced ```python {exec=true ...} and the highlight shortcode.
BLOCK = re.compile(r'^```python \{exec=true(?P<fence_options>[^}]*)\}\n(?P<fence>.*?)^```$'
                   r'|^\{\{< highlight python "exec=true[^"]*" >\}\}\n(?P<highlight>.*?)^\{\{< / ?highlight >\}\}',
                   re.MULTILINE | re.DOTALL)


class ParkedMemo:
    """Stands in for @runpost.memo: keeps the raw function; `.map` trains nothing."""

    def __init__(self, function):
        self.__wrapped__ = function

    def __call__(self, *args):
        return self.__wrapped__(*args)

    def map(self, calls, processes=1):
        return [None for _ in calls]


class BenchSession(runpost.MemorySession):
    def memoize(self, function):
        return ParkedMemo(function)


def load_article(iterations: int) -> dict:
    """Run the article's blocks up to its driver; the namespace holds train(), the models, the data."""
    runpost._session = BenchSession()
    runpost.params.clear()
    # The article's own parameters (seeds included), with the run shortened to `iterations` steps.
    text = (ARTICLE / "index.md").read_text(encoding="utf-8")
    runpost.params.update(parse_post(ARTICLE / "index.md", text, ARTICLE).meta.params)
    runpost.params.update(epochs=1, train_size=iterations * 100, test_size=10000)
    namespace = types.ModuleType("__main__").__dict__
    for match in BLOCK.finditer((ARTICLE / "index.md").read_text(encoding="utf-8")):
        code = match["fence"] if match["fence"] is not None else match["highlight"]
        exec(compile(code, str(ARTICLE / "index.md"), "exec"), namespace)
        if "id=driver" in (match["fence_options"] or ""):
            return namespace
    raise SystemExit("bench: no block with id=driver in the article")


def reference_train(namespace: dict, name: str, iterations: int, root: str) -> float:
    """The seed's loop for one model: `iterations` SGD steps, then one test evaluation."""
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST

    experiment = namespace["EXPERIMENTS"][name]
    train_dataset = FashionMNIST(root=root, train=True, transform=transforms.ToTensor())
    test_dataset = FashionMNIST(root=root, train=False, transform=transforms.ToTensor())
    train_loader = DataLoader(dataset=train_dataset, batch_size=100, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=100, shuffle=False)
    model = experiment.model(28, 100, experiment.layer_dim, 10)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=experiment.momentum)
    step = 0
    while step < iterations:
        for images, labels in train_loader:
            model.train()
            images = images.view(-1, 28, 28)
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            step += 1
            if step == iterations:
                break
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in test_loader:
            outputs = model(images.view(-1, 28, 28))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return correct / total


def ours_train(namespace: dict, name: str) -> float:
    # The first of the article's seeds: one run per model, as the reference makes.
    return namespace["train"].__wrapped__(name, namespace["settings"].seeds[0])["history"][-1]["accuracy"]


def timed_in_child(function, *args) -> tuple[float, float]:
    """(seconds, accuracy) of function(*args) in a fresh forked process; its stderr (tqdm) muted."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        start = time.perf_counter()
        try:
            accuracy = function(*args)
        except BaseException as error:
            send.send(error)
            raise
        send.send((time.perf_counter() - start, accuracy))

    process = context.Process(target=child)
    process.start()
    send.close()  # so recv() sees EOF if the child dies without answering
    try:
        result = receive.recv()
    except EOFError:
        raise SystemExit(f"bench: the process running {function.__name__}{args[1:]} died") from None
    finally:
        process.join()
    if isinstance(result, BaseException):
        raise result
    return result


def timed_concurrently(namespace: dict, names: list[str], processes: int) -> float:
    """Wall time of training all models, `processes` at a time, as runpost's memo map does."""
    context = multiprocessing.get_context("fork")
    start = time.perf_counter()
    waiting, running = list(names), []
    while waiting or running:
        while waiting and len(running) < processes:
            process = context.Process(target=quietly, args=(ours_train, namespace, waiting.pop(0)))
            process.start()
            running.append(process)
        multiprocessing.connection.wait([process.sentinel for process in running])
        for process in [process for process in running if not process.is_alive()]:
            process.join()
            running.remove(process)
    return time.perf_counter() - start


def quietly(function, *args):
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    function(*args)


def torchvision_layout(data_folder: str) -> str:
    """A temp root in torchvision's FashionMNIST/raw/ layout, holding the article's files.

    The .gz files are symlinked; torchvision reads the decompressed files
    beside them (it would try to re-download a .gz whose MD5 differs from the
    published one, as Debian's repackaged copies do), so those are written too.
    """
    import gzip

    import fashion

    root = Path(tempfile.mkdtemp(prefix="fashion-bench-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in fashion.PUBLISHED_MD5:
        (raw / name).symlink_to(Path(data_folder) / name)
        (raw / name.removesuffix(".gz")).write_bytes(gzip.decompress((raw / name).read_bytes()))
    return str(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="SGD steps per model (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians reported")
    parser.add_argument("--processes", type=int, help="ours: models trained at once (default: the article's choice)")
    args = parser.parse_args()

    namespace = load_article(args.iterations)
    root = torchvision_layout(namespace["data"].folder)
    names = [name for name, experiment in namespace["EXPERIMENTS"].items() if experiment.original]
    processes = args.processes or namespace["processes"]
    import torch

    print(f"{args.iterations} iterations (batch 100) + 1 test evaluation per model, median of {args.repeats}; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, reference threads {torch.get_num_threads()}, "
          f"ours 1 thread x {processes} processes", flush=True)
    reference = {name: [] for name in names}
    ours = {name: [] for name in names}
    whole = []
    for repeat in range(args.repeats):
        for name in names:
            reference[name].append(timed_in_child(reference_train, namespace, name, args.iterations, root))
            ours[name].append(timed_in_child(ours_train, namespace, name))
        whole.append(timed_concurrently(namespace, names, processes))
        print(f"  repeat {repeat + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    report(names, reference, ours, whole, args.iterations)


def report(names, reference, ours, whole, iterations) -> None:
    median = lambda runs: statistics.median(seconds for seconds, _ in runs)
    last_accuracy = lambda runs: runs[-1][1]
    print()
    print("| Model | Reference (s) | Ours (s) | Ours / reference | Accuracy ref / ours |")
    print("|---|---:|---:|---:|---|")
    for name in names:
        print(f"| {name} | {median(reference[name]):.2f} | {median(ours[name]):.2f} | "
              f"{median(ours[name]) / median(reference[name]):.2f}x | "
              f"{last_accuracy(reference[name]):.1%} / {last_accuracy(ours[name]):.1%} |")
    sequential = sum(median(reference[name]) for name in names)
    concurrent = statistics.median(whole)
    print(f"| All four (reference one after another; ours side by side) | {sequential:.2f} | {concurrent:.2f} | "
          f"{concurrent / sequential:.2f}x | |")
    steps = 20 * 600
    print(f"\nFull run (20 epochs x 600 iterations) extrapolated from this run: reference "
          f"{sequential * steps / iterations / 60:.0f} min, ours {concurrent * steps / iterations / 60:.0f} min "
          f"(an overestimate: here a test evaluation comes every {iterations} steps, in the article every 600).")


if __name__ == "__main__":
    main()
