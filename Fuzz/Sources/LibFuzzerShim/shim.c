// Intentionally empty: the header declares symbols libFuzzer defines.
