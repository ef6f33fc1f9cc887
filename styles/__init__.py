"""Style presets (*.toml) and the bundled model, shipped inside the package as artgan.styles."""
