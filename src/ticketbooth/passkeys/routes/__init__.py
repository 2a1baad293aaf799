"""The passkey routes (REST) and what they share with the GraphQL twins (passkeys/graphql.py): bodies and
answers in Kibo's style."""
