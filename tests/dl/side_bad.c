/* A side module needing a function no module defines: its load must fail and
** name the symbol. */
extern int no_such_function(int);
int bad_entry(int x) { return no_such_function(x); }
