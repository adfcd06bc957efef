"""How each kind of mail changes its ticket, chosen by the `apply_to_ticket` step.

`customer` (a request or follow-up), `agent_reply` (an agent's answer and commands on their
signed address; `answer` takes the answer to the customer, `files` answers `#files`),
`satisfaction` (a rating on the survey address) and `automated` (auto-replies and bounces);
`participants` decides whom a customer's mail adds to its ticket, and applies the agents'
`#cc add` and `#cc keep`.
Each changes tickets only through `mailtickets.services`.
"""
