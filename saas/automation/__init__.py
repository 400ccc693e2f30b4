"""The automation engine under sequences and workflows: durable enrolments advanced step by step, their
history, and an email outbox. It names no module; each module plugs in its steps, tables and mail."""
