package sink

import "neurons-connector/internal/robustio"

// heldCodes are the codes Windows gives a rename over a file that another
// program holds open.
var heldCodes = robustio.HeldCodes
