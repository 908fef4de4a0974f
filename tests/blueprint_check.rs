#[path = "it/blueprint.rs"]
mod blueprint;
