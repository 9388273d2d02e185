"""The follow-up meeting (uppföljningsmöte) of seed 001, as one folder.

``dialog`` walks the agenda turn by turn; ``agenda`` reads the steps from the catalogue;
``decision`` parses the decision form and its typed answers; ``inputs`` reads what a card or a
typed line carried; ``views`` turns a meeting into card values; ``service`` holds the rules that
touch storage.
"""
