# Shared by the bench scripts (sourced from the repository root): where
# things are, the pinned Python venv and the check of the binary under
# test. Callers set PYTHON.

BENCH=bench
VENV=$BENCH/.venv
PY=$VENV/bin/python
STAMPEDE_BIN=${STAMPEDE_BIN:-target/release/stampede}

say() { printf '%s\n' "$*" >&2; }

# setup_venv: creates or updates $VENV from bench/requirements.txt.
setup_venv() {
    if ! cmp -s "$BENCH/requirements.txt" "$VENV/.requirements.txt" 2>/dev/null; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            say "error: $PYTHON is $("$PYTHON" --version 2>&1); need Python 3.11+ (set PYTHON)"
            exit 2
        }
        say "== setting up $VENV"
        [ -x "$PY" ] || "$PYTHON" -m venv "$VENV"
        "$PY" -m pip install --quiet --disable-pip-version-check -r "$BENCH/requirements.txt"
        cp "$BENCH/requirements.txt" "$VENV/.requirements.txt"
    fi
}

# check_binary: $STAMPEDE_BIN exists (and is not a debug build, or says so).
check_binary() {
    if [ ! -x "$STAMPEDE_BIN" ]; then
        say "error: no stampede binary at $STAMPEDE_BIN (cargo build --release, or set STAMPEDE_BIN)"
        exit 2
    fi
    case $STAMPEDE_BIN in
        *debug*) say "warning: $STAMPEDE_BIN looks like a debug build: its timings mean nothing" ;;
    esac
}

# ensure_jtl FILE ROWS: generates the benchmark JTL once; later runs reuse it.
ensure_jtl() {
    if [ ! -s "$1" ]; then
        say "== generating $1"
        "$PY" "$BENCH/gen_jtl.py" "$1" --rows "$2"
    fi
}
