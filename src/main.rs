//! The `glassbox` binary: all logic lives in the library; this is the entry.

fn main() {
    // A command that starts containers runs from a read-only view of this
    // binary (runtime::exe): re-executed here, before the parse, so that
    // clap builds its whole command tree once per start, not twice.
    glassbox::runtime::exe::seal_early();
    std::process::exit(glassbox::cli::main());
}
