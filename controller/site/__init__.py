"""The site server: what a site's machines say over MQTT, kept in PostgreSQL (`eccentrix site`)."""
