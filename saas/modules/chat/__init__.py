"""Live chat: a website widget per workspace, the agents' chat inbox, chats filed as tickets."""
