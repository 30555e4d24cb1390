// driver_registry: written next
