"""The app's side of the carrier adapters: one adapter per carrier kept for the process with its
circuit breaker (``cache``), the store they remember things in (``store``) and the sealed
credentials they are built with (``credentials``). It imports no feature of the app, so that
the runtime can hold the adapters while every feature uses the runtime."""
