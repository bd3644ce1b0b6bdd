"""`make bench`: every benchmark, one after the other, then benchmarks/results.json.

1. race.py: nnlib's fast and plain engines against PyTorch and scikit-learn, mini-batch Adam;
2. race.py --dropout 0.2: the same with dropout, nnlib against PyTorch;
3. article_vs_nnlib.py: the article's full-batch code against nnlib's two engines;
4. engine_regression.py: the fast engine against commit 7533798, the plain engine against
   the article;
5. cnn_speed.py: forward + backward of one batch of 128 through the chapters' CNN (LeNet),
   nnlib against PyTorch, with each library's default threads and with 1 thread, and nnlib's
   step split by function.

Each script prints its tables and writes its records; this one gathers them, with the date,
the commit, the machine and the versions, into results.json (the file the chapter "Making it
fast" reads), about 20 minutes on a quiet 2-core machine. ``--quick`` tests the scripts with
tiny settings in a few minutes and writes results.quick.json instead: not results.

    python benchmarks/run_all.py [--quick]
"""
import argparse
import datetime
import json
import pathlib
import subprocess
import sys
import tempfile

from common import environment, write_json

HERE = pathlib.Path(__file__).resolve().parent
# (script, its options, the options that make it quick); each writes {key in results.json: records}
RUNS = [
    ("race.py", [], ["--epochs", "2", "--train-size", "6000"]),
    ("race.py", ["--dropout", "0.2"], ["--epochs", "2", "--train-size", "6000"]),
    ("article_vs_nnlib.py", [], ["--runs", "1", "--iterations", "10"]),
    ("engine_regression.py", [], ["--pairs", "1", "--quick"]),
    ("cnn_speed.py", [], ["--rounds", "3"]),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, results.quick.json")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True)
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python benchmarks/run_all.py --quick" if args.quick else "make bench",
        "commit": commit.stdout.strip() or None,
        **environment(),
        "article": [],
        "races": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for number, (script, options, quick) in enumerate(RUNS):
            options = options + (quick if args.quick else [])
            print(f"\n$ python benchmarks/{' '.join([script, *options])}\n", flush=True)
            output = pathlib.Path(folder) / f"{number}.json"
            subprocess.run([sys.executable, str(HERE / script), *options, "--json", str(output)], check=True)
            for key, records in json.loads(output.read_text()).items():
                results[key] = results[key] + records if key in results else records
    path = HERE / ("results.quick.json" if args.quick else "results.json")
    write_json(path, results)
    print(f"\nwrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
