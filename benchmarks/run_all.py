"""`make bench`: every benchmark, one after the other (about 20 minutes on 2 cores).

1. race.py: nnlib against PyTorch and scikit-learn, mini-batch Adam on the big network;
2. race.py --dropout 0.2: the same with dropout, nnlib against PyTorch;
3. article_vs_nnlib.py: the article's full-batch code against nnlib's command line.

Arguments are passed to none; run the scripts themselves for their options.
"""
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent

if __name__ == "__main__":
    for script, *options in (("race.py",), ("race.py", "--dropout", "0.2"), ("article_vs_nnlib.py",)):
        print(f"\n$ python benchmarks/{' '.join([script, *options])}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *options], check=True)
