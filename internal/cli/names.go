package cli

import (
	"math/rand/v2"
)

// Docker names unnamed services adjective_surname (pkg/namesgenerator); a Service's name is a
// DNS label, so kubeswarm joins the two with "-". A shorter list than docker's, same spirit.
var (
	nameLeft = []string{"admiring", "adoring", "affectionate", "amazing", "awesome", "blissful", "bold",
		"brave", "charming", "clever", "compassionate", "competent", "confident", "cool", "dazzling",
		"determined", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic",
		"fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "gallant", "gifted", "goofy",
		"gracious", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring",
		"intelligent", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical",
		"modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective",
		"optimistic", "peaceful", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed",
		"reverent", "romantic", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "suspicious",
		"sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous",
		"wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen"}
	nameRight = []string{"agnesi", "albattani", "allen", "archimedes", "babbage", "banach", "bardeen",
		"bartik", "bell", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "brahmagupta", "brattain",
		"brown", "cannon", "carson", "cerf", "chandrasekhar", "clarke", "colden", "cori", "curie", "darwin",
		"davinci", "diffie", "dijkstra", "einstein", "elion", "engelbart", "euclid", "euler", "faraday",
		"fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg", "goodall", "hamilton",
		"hawking", "heisenberg", "hertz", "hodgkin", "hopper", "hypatia", "jackson", "jang", "jennings",
		"johnson", "kalam", "kare", "keller", "kepler", "knuth", "lamarr", "lamport", "leakey", "lovelace",
		"lumiere", "mayer", "mccarthy", "mclean", "meitner", "mendel", "minsky", "montalcini", "morse",
		"napier", "newton", "nobel", "noether", "pare", "pasteur", "payne", "perlman", "pike", "poincare",
		"ptolemy", "ramanujan", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi",
		"swanson", "tesla", "thompson", "torvalds", "turing", "volhard", "wescoff", "wilson", "wozniak",
		"wright", "yalow", "yonath"}
)

// randomName is a docker-like generated name, DNS-label safe ("frosty-hopper").
func randomName(rnd *rand.Rand) string {
	return nameLeft[rnd.IntN(len(nameLeft))] + "-" + nameRight[rnd.IntN(len(nameRight))]
}
