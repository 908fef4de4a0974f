//! The `portal` binary.

fn main() {
    std::process::exit(tenant_portal::cli::run());
}
