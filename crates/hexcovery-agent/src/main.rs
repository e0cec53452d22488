//! The `hexcovery-agent` binary: `run` and `check-config` (see `agent::cli`).

fn main() -> std::process::ExitCode {
    hexcovery_agent::agent::main()
}
