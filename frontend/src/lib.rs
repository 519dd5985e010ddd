//! The WASM entry point: hydrates the islands that the server rendered.

// Nothing here names an item of `app`, so link it explicitly: its islands'
// exported hydration functions must end up in this module.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
