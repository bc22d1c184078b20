//! The `chainsim` command line.

mod huge_pages;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: huge_pages::HugePageAlloc = huge_pages::HugePageAlloc;

fn main() -> ExitCode {
    chainsim::cli::main(std::env::args_os())
}
