# Writes the file IN as one C string literal, line by line, to OUT: the text of a C
# file that another C file includes between "= " and ";". Run with cmake -P.
file(READ "${IN}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REGEX REPLACE "\n" "\\\\n\"\n\"" text "${text}")
file(WRITE "${OUT}" "\"${text}\"\n")
