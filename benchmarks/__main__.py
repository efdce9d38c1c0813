"""`python -m benchmarks [--json] [--repeats N] [--device cpu|cuda]` (`make bench`): the speed benchmark."""
import sys

from utils.__main__ import Parser, positive_int

from .bench import main


def cli(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed repetitions per step (default 5)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    return main(as_json=args.json, repeats=args.repeats, device=args.device)


if __name__ == "__main__":
    sys.exit(cli())
