// limbo_export: written next
