//! The `glassbox` binary: all logic lives in the library; this is the entry.

fn main() {
    std::process::exit(glassbox::cli::main());
}
